import GRDB

extension Optional where Wrapped: DatabaseValueConvertible {
    /// The value, or SQL NULL. Hot paths build `[DatabaseValue]` directly instead of an array
    /// of existentials.
    var sqlValue: DatabaseValue { self?.databaseValue ?? .null }
}
