import Foundation
import Synchronization

/// Sign-in sessions of this process: a random session id (the cookie) mapped to the credential
/// it was opened with. Sessions end at expiry, on sign-out, or when the process restarts.
final class SessionStore: Sendable {
    struct Session: Sendable {
        var credentialIndex: Int
        /// The name given on the sign-in page; empty when none was.
        var claimedName: String
        var expires: Date
    }

    private let sessions = Mutex<[String: Session]>([:])
    let lifetime: TimeInterval

    init(lifetime: TimeInterval) { self.lifetime = lifetime }

    func open(credentialIndex: Int, claimedName: String, now: Date) -> String {
        let id = RandomToken.make()
        sessions.withLock { all in
            all = all.filter { $0.value.expires > now }
            all[id] = Session(credentialIndex: credentialIndex, claimedName: claimedName, expires: now.addingTimeInterval(lifetime))
        }
        return id
    }

    func session(_ id: String, now: Date) -> Session? {
        sessions.withLock { all in
            guard let session = all[id] else { return nil }
            if session.expires <= now {
                all[id] = nil
                return nil
            }
            return session
        }
    }

    func close(_ id: String) { sessions.withLock { $0[id] = nil } }
}

/// Random, URL- and cookie-safe tokens from the system's secure generator.
enum RandomToken {
    static func make(bytes: Int = 24) -> String {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var out = ""
        out.reserveCapacity(bytes * 2)
        for _ in 0..<(bytes * 4 / 3 + 1) {
            out.append(alphabet[Int(generator.next(upperBound: UInt8(alphabet.count)))])
        }
        return out
    }
}
