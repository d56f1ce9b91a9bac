/// A worker's hold on one attempt of a job. The token is new for every attempt; every write of
/// the attempt (heartbeat, finish) is conditional on it, so a worker that lost its lease cannot
/// overwrite a newer outcome (fencing).
public struct Lease: Hashable, Sendable, Codable, CustomStringConvertible {
    public var jobID: JobID
    public var token: Int64
    public init(jobID: JobID, token: Int64) {
        self.jobID = jobID
        self.token = token
    }
    public var description: String { "\(jobID)#\(token)" }

    /// A fresh random token (positive, 63 bits).
    public static func newToken() -> Int64 { Int64.random(in: 1...Int64.max) }
}
