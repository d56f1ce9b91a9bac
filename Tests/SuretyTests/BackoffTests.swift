import Foundation
import Surety
import Testing

@Suite("Backoff and retry decisions")
struct BackoffTests {
    @Test("the standard backoff doubles from 5 s and caps at 1 hour")
    func standardFormula() {
        let backoff = Backoff.standard
        #expect(backoff.baseDelay(afterAttempt: 1) == .seconds(5))
        #expect(backoff.baseDelay(afterAttempt: 2) == .seconds(10))
        #expect(backoff.baseDelay(afterAttempt: 5) == .seconds(80))
        #expect(backoff.baseDelay(afterAttempt: 11) == .seconds(3600))
        #expect(backoff.baseDelay(afterAttempt: 10_000) == .seconds(3600))
    }

    @Test("jitter stays within ±jitter of the base and never exceeds the cap", arguments: [1, 2, 3, 8, 12, 30])
    func jitterBounds(attempt: Int) {
        let backoff = Backoff.exponential(initial: .seconds(2), factor: 3, cap: .seconds(600), jitter: 0.25)
        let base = backoff.baseDelay(afterAttempt: attempt).timeInterval
        for u in stride(from: 0.0, through: 0.999, by: 0.037) {
            let delay = backoff.delay(afterAttempt: attempt, unitRandom: u).timeInterval
            #expect(delay >= base * 0.75 - 1e-6)
            #expect(delay <= min(600, base * 1.25) + 1e-6)
        }
        #expect(abs(backoff.delay(afterAttempt: attempt, unitRandom: 0).timeInterval - base * 0.75) < 1e-6)
    }

    @Test("constant backoff has no jitter")
    func constant() {
        let backoff = Backoff.constant(.seconds(7))
        #expect(backoff.delay(afterAttempt: 1, unitRandom: 0.9) == .seconds(7))
        #expect(backoff.delay(afterAttempt: 40, unitRandom: 0.1) == .seconds(7))
    }

    @Test("a transient failure retries after the backoff while attempts last")
    func retriesWhileAttemptsLast() {
        let t0 = Date(timeIntervalSince1970: 1_000)
        let options = JobOptions(maxAttempts: 3, backoff: .constant(.seconds(10)), retryBudget: nil)
        let next = RetryDecision.next(after: .failed(.transient, undecodablePayload: false), attempt: 1, maxAttempts: 3, firstAttemptAt: t0, now: t0, options: options, unitRandom: 0.5)
        #expect(next == .retry(at: t0.addingTimeInterval(10)))
        let last = RetryDecision.next(after: .failed(.transient, undecodablePayload: false), attempt: 3, maxAttempts: 3, firstAttemptAt: t0, now: t0, options: options, unitRandom: 0.5)
        #expect(last == .dead(.maxAttempts))
    }

    @Test("the retry budget ends retries that would start after it")
    func budget() {
        let t0 = Date(timeIntervalSince1970: 1_000)
        let options = JobOptions(maxAttempts: 100, backoff: .constant(.seconds(60)), retryBudget: .seconds(300))
        let inside = RetryDecision.next(after: .failed(.transient, undecodablePayload: false), attempt: 4, maxAttempts: 100, firstAttemptAt: t0, now: t0.addingTimeInterval(240), options: options, unitRandom: 0)
        #expect(inside == .retry(at: t0.addingTimeInterval(300)))
        let outside = RetryDecision.next(after: .failed(.transient, undecodablePayload: false), attempt: 5, maxAttempts: 100, firstAttemptAt: t0, now: t0.addingTimeInterval(241), options: options, unitRandom: 0)
        #expect(outside == .dead(.retryBudget))
    }

    @Test("permanent errors, undecodable payloads, snoozes and shutdowns")
    func explicitOutcomes() {
        let t0 = Date(timeIntervalSince1970: 1_000)
        let options = JobOptions()
        func next(_ result: RetryDecision.Result, attempt: Int = 1) -> NextState {
            RetryDecision.next(after: result, attempt: attempt, maxAttempts: 20, firstAttemptAt: t0, now: t0, options: options, unitRandom: 0.5)
        }
        #expect(next(.failed(.permanent, undecodablePayload: false)) == .dead(.permanentError))
        #expect(next(.failed(.permanent, undecodablePayload: true)) == .dead(.undecodablePayload))
        #expect(next(.snoozed(.seconds(30)), attempt: 20) == .reschedule(at: t0.addingTimeInterval(30)))
        #expect(next(.interrupted, attempt: 20) == .reschedule(at: t0))
        #expect(next(.succeeded) == .completed)
    }

    @Test("the classifier: permanent markers, custom rules, transient by default (decoding errors in job code too)")
    func classifier() {
        struct Declined: ClassifiedError { var errorClass: ErrorClass { .permanent } }
        struct Flaky: Error {}
        struct Quota: Error {}
        let standard = ErrorClassifier.standard
        #expect(standard.classify(PermanentFailure("no")) == .permanent)
        #expect(standard.classify(Declined()) == .permanent)
        #expect(standard.classify(DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "x"))) == .transient)
        #expect(standard.classify(Flaky()) == .transient)
        let custom = ErrorClassifier { $0 is Quota ? .permanent : nil }
        #expect(custom.classify(Quota()) == .permanent)
        #expect(custom.classify(Flaky()) == .transient)
    }
}
