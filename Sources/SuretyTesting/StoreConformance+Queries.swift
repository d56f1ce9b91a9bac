import Foundation
import Surety

extension StoreConformance {
    func queries(_ store: any OperatedStore, _ check: Check) async throws {
        let ids = try await store.enqueue([
            Fixtures.job("mail.send", queue: "mail", tags: ["welcome"], correlation: ["user_id": "u1"]),
            Fixtures.job("mail.send", queue: "mail", tags: ["digest"], correlation: ["user_id": "u2"]),
            Fixtures.job("billing.charge", queue: "billing", correlation: ["user_id": "u1", "order_id": "o1"]),
        ]).map(\.id)
        let all = try await store.jobs(JobFilter())
        try check.that(all.map(\.id) == ids.reversed(), "jobs are listed newest first")
        let page = try await store.jobs(JobFilter(beforeID: ids[2], limit: 1))
        try check.that(page.map(\.id) == [ids[1]], "paging by beforeID and limit works")
        let byType = try await store.jobs(JobFilter(types: ["mail.send"]))
        try check.that(byType.count == 2, "filter by type")
        let byQueue = try await store.jobs(JobFilter(queues: ["billing"]))
        try check.that(byQueue.map(\.id) == [ids[2]], "filter by queue")
        let byTag = try await store.jobs(JobFilter(tag: "digest"))
        try check.that(byTag.map(\.id) == [ids[1]], "filter by tag")
        let byCorrelation = try await store.jobs(JobFilter(correlation: ["user_id": "u1"]))
        try check.that(byCorrelation.map(\.id) == [ids[2], ids[0]], "filter by correlation id")
        let both = try await store.jobs(JobFilter(correlation: ["user_id": "u1", "order_id": "o1"]))
        try check.that(both.map(\.id) == [ids[2]], "correlation filters combine")
        let counts = try await store.counts()
        let mail = counts.first { $0.queue == "mail" && $0.type == "mail.send" && $0.state == .available }
        try check.that(mail?.count == 2 && counts.reduce(0) { $0 + $1.count } == 3, "counts group by queue, type and state")
        let window = try await store.jobs(JobFilter(enqueuedAfter: Fixtures.t0, enqueuedBefore: Fixtures.t0.addingTimeInterval(1)))
        try check.that(window.count == 3, "filter by enqueue time range")
        let missing = try await store.job(JobID(123_456_789))
        try check.that(missing == nil, "a missing job reads as nil")
    }
}
