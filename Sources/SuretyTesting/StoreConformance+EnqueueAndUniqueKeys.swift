import Foundation
import Surety

extension StoreConformance {
    func enqueueAndUniqueKeys(_ store: any OperatedStore, _ check: Check) async throws {
        let now = Fixtures.t0
        let results = try await store.enqueue([Fixtures.job(), Fixtures.job(runAt: now.addingTimeInterval(60))])
        try check.that(results.count == 2 && results.allSatisfy(\.inserted), "enqueue of two jobs inserts both")
        try check.that(results[0].id != results[1].id, "jobs get distinct ids")
        let first = try await store.job(results[0].id)
        let delayed = try await store.job(results[1].id)
        try check.that(first?.state == .available, "a job due now starts available, got \(String(describing: first?.state))")
        try check.that(delayed?.state == .scheduled, "a job due later starts scheduled, got \(String(describing: delayed?.state))")
        try check.that(first?.attempt == 0 && first?.maxAttempts == 3, "a new job has no attempts and keeps max attempts")

        let keyed = try await store.enqueue([Fixtures.job(key: "order-1")])[0]
        let again = try await store.enqueue([Fixtures.job(payload: #"{"other":true}"#, key: "order-1")])[0]
        try check.that(keyed.inserted && !again.inserted && again.id == keyed.id, "a held unique key returns the existing job")
        let inBatch = try await store.enqueue([Fixtures.job(key: "order-2"), Fixtures.job(key: "order-2")])
        try check.that(inBatch[0].inserted && !inBatch[1].inserted && inBatch[0].id == inBatch[1].id, "a duplicate key inside one batch is deduplicated")

        // whileActive: the key frees when the job completes.
        let claimed = try await Fixtures.claim(store, limit: 100)
        guard let keyedClaim = claimed.first(where: { $0.id == keyed.id }) else { try check.fail("the keyed job was claimable") }
        _ = try await store.finish([Fixtures.finish(keyedClaim, at: now.addingTimeInterval(1), outcome: .succeeded, next: .completed)])
        let afterCompletion = try await store.enqueue([Fixtures.job(key: "order-1")])[0]
        try check.that(afterCompletion.inserted && afterCompletion.id != keyed.id, "a whileActive key is free again after completion")

        // forever: the key stays held after completion.
        let forever = try await store.enqueue([Fixtures.job(queue: "forever", key: "once", scope: .forever)])[0]
        let foreverClaim = try await Fixtures.claim(store, queues: ["forever"])
        try check.that(foreverClaim.count == 1, "the forever-keyed job is claimable")
        _ = try await store.finish([Fixtures.finish(foreverClaim[0], at: now.addingTimeInterval(1), outcome: .succeeded, next: .completed)])
        let foreverAgain = try await store.enqueue([Fixtures.job(queue: "forever", key: "once", scope: .forever)])[0]
        try check.that(!foreverAgain.inserted && foreverAgain.id == forever.id, "a forever key still holds after completion")

        // tags and correlation round-trip
        let tagged = try await store.enqueue([Fixtures.job(queue: "tagged", tags: ["import", "csv"], correlation: ["order_id": "o-9", "user_id": "u-1"])])[0]
        let record = try await store.job(tagged.id)
        try check.that(record?.tags == ["import", "csv"], "tags are stored in order")
        try check.that(record?.correlation == ["order_id": "o-9", "user_id": "u-1"], "correlation ids are stored")
    }
}
