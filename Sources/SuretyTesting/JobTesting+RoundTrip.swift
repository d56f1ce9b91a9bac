import Foundation
import Surety

extension JobTesting {
    /// Checks that `job` survives its payload encoding: encoded with `JobCoding` (what enqueue
    /// stores) and decoded again (what a worker runs), every stored property is equal to the
    /// original, compared field by field (by `==` where a field is `Hashable`, by its own fields
    /// otherwise). A field the encoding drops or changes (a `Date`'s fraction of a second, a
    /// property left out of `CodingKeys` that decodes to a default) throws, naming the field.
    ///
    /// ``perform(_:tenant:attempt:options:checkRoundTrip:)`` runs this check first.
    ///
    /// - Throws: ``JobTestingError/payloadDoesNotRoundTrip(type:field:before:after:)`` (values of
    ///   `Job.secretFields` shown as `[REDACTED]`), ``JobTestingError/payloadDoesNotDecode(type:detail:)``,
    ///   or `SuretyError` (`invalidPayload`) when it does not encode.
    public static func checkRoundTrip<J: Job>(_ job: J) throws {
        try checkRoundTrip(job, payload: JobCoding.encode(job))
    }

    static func checkRoundTrip<J: Job>(_ job: J, payload: String) throws {
        let decoded: J
        do {
            decoded = try JobCoding.decode(J.self, from: payload)
        } catch {
            throw JobTestingError.payloadDoesNotDecode(type: J.name, detail: JobQueue.describeDecoding(error))
        }
        guard let difference = RoundTrip.difference(job, decoded, path: [], depth: 0) else { return }
        let secret = difference.path.contains { J.secretFields.contains($0) }
        throw JobTestingError.payloadDoesNotRoundTrip(
            type: J.name, field: difference.path.isEmpty ? "(the whole payload)" : RoundTrip.render(difference.path),
            before: secret ? Redactor.mask : difference.before, after: secret ? Redactor.mask : difference.after
        )
    }
}

/// A structural comparison of a value with its decoded copy, by reflection.
enum RoundTrip {
    struct Difference {
        var path: [String]
        var before: String
        var after: String
    }

    /// The first field where `a` and `b` differ, or `nil` when they are equal.
    static func difference(_ a: Any, _ b: Any, path: [String], depth: Int) -> Difference? {
        guard type(of: a) == type(of: b) else {
            return Difference(path: path, before: "a \(type(of: a))", after: "a \(type(of: b))")
        }
        let hashable = (a as? AnyHashable).flatMap { x in (b as? AnyHashable).map { (x, $0) } }
        if case let (x, y)? = hashable, x == y { return nil }
        // Equal-by-reflection is not asked of atomic values (their storage is not the point).
        if hashable == nil || !isAtomic(a), depth < 32, let inner = structural(a, b, path: path, depth: depth) {
            return inner
        }
        if hashable != nil {
            return Difference(path: path, before: describe(a), after: describe(b))
        }
        let (before, after) = (describe(a), describe(b))
        return before == after ? nil : Difference(path: path, before: before, after: after)
    }

    /// The difference found in the children of `a` and `b`, if any.
    private static func structural(_ a: Any, _ b: Any, path: [String], depth: Int) -> Difference? {
        let (left, right) = (Mirror(reflecting: a), Mirror(reflecting: b))
        switch left.displayStyle {
        case .optional?:
            switch (left.children.first?.value, right.children.first?.value) {
            case (nil, nil): return nil
            case let (x?, y?): return difference(x, y, path: path, depth: depth + 1)
            default: return Difference(path: path, before: describe(a), after: describe(b))
            }
        case .dictionary?:
            let pairs = { (mirror: Mirror) -> [AnyHashable: Any] in
                var pairs: [AnyHashable: Any] = [:]
                for child in mirror.children {
                    let entry = Array(Mirror(reflecting: child.value).children)
                    guard entry.count == 2, let key = entry[0].value as? AnyHashable else { continue }
                    pairs[key] = entry[1].value
                }
                return pairs
            }
            let (x, y) = (pairs(left), pairs(right))
            for (key, value) in x {
                guard let other = y[key] else {
                    return Difference(path: path + ["[\(key)]"], before: describe(value), after: "missing")
                }
                if let found = difference(value, other, path: path + ["[\(key)]"], depth: depth + 1) { return found }
            }
            for (key, value) in y where x[key] == nil {
                return Difference(path: path + ["[\(key)]"], before: "missing", after: describe(value))
            }
            return nil
        default:
            let (x, y) = (Array(left.children), Array(right.children))
            guard x.count == y.count else {
                return Difference(path: path, before: describe(a), after: describe(b))
            }
            for (index, (first, second)) in zip(x, y).enumerated() {
                guard first.label == second.label else {
                    return Difference(path: path, before: describe(a), after: describe(b))
                }
                let step = first.label.map { left.displayStyle == .enum ? "(\($0))" : $0 } ?? "[\(index)]"
                if let found = difference(first.value, second.value, path: path + [step], depth: depth + 1) { return found }
            }
            return nil
        }
    }

    /// Values compared as a whole, never by their stored parts.
    private static func isAtomic(_ value: Any) -> Bool {
        value is Date || value is URL || value is UUID || value is Decimal || value is Data || value is String
            || Mirror(reflecting: value).children.isEmpty
    }

    private static func describe(_ value: Any) -> String {
        if let date = value as? Date {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return formatter.string(from: date)
        }
        let text = String(reflecting: value)
        return text.count > 200 ? String(text.prefix(200)) + "…" : text
    }

    /// `order.lines[0].price`: labels joined by dots, indices and enum cases attached.
    static func render(_ path: [String]) -> String {
        path.enumerated().map { index, step in
            index == 0 || step.hasPrefix("[") || step.hasPrefix("(") ? step : "." + step
        }.joined()
    }
}
