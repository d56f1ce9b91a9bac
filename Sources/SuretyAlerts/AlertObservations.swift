import Foundation
import Surety

/// What the rules look at in one evaluation: the store's summaries for each window the rules use.
public struct AlertObservations: Sendable, Hashable {
    public var now: Date
    /// Attempt activity per window length (seconds).
    public var activity: [TimeInterval: [AttemptActivity]]
    /// The dead-letter inbox, with arrivals counted per window length (seconds).
    public var deadLetters: [TimeInterval: [DeadLetterSummary]]
    public var waiting: [WaitingWork]

    public init(now: Date, activity: [TimeInterval: [AttemptActivity]] = [:], deadLetters: [TimeInterval: [DeadLetterSummary]] = [:], waiting: [WaitingWork] = []) {
        self.now = now
        self.activity = activity
        self.deadLetters = deadLetters
        self.waiting = waiting
    }

    /// Reads what `rules` need from the store: one query per distinct window and kind of summary.
    public static func gather(from store: any AlertObservationsStore, rules: [AlertRule], now: Date) async throws -> AlertObservations {
        var observations = AlertObservations(now: now)
        let activityWindows = Set(rules.filter { $0.kind == .failureRatio || $0.kind == .throughputStalled }.map(\.windowSeconds))
        let deadWindows = Set(rules.filter { $0.kind == .deadLetter || $0.kind == .deadLetterGrowth }.map(\.windowSeconds))
        for window in activityWindows.sorted() {
            observations.activity[window] = try await store.attemptActivity(since: now.addingTimeInterval(-window), until: now)
        }
        for window in deadWindows.sorted() {
            observations.deadLetters[window] = try await store.deadLetterSummary(since: now.addingTimeInterval(-window))
        }
        if rules.contains(where: { $0.kind.groupsByQueue }) {
            observations.waiting = try await store.waitingWork(now: now)
        }
        return observations
    }
}
