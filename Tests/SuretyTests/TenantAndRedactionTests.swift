import Foundation
import Surety
import Testing

@Suite("Tenants and redaction")
struct TenantAndRedactionTests {
    @Test("tenant ids are validated with clear errors")
    func tenantValidation() throws {
        #expect(try TenantID("acme").rawValue == "acme")
        for bad in ["", " acme", "a\nb", "@admin", String(repeating: "x", count: 129)] {
            let error = try #require(throws: SuretyError.self) { try TenantID(bad) }
            #expect(error.code == .invalidTenant)
        }
        #expect(try TenantID("@system") == .system)
    }

    @Test("the guard fails closed for another tenant and outside any tenant")
    func guardFailsClosed() throws {
        let acme = try TenantID("acme")
        let globex = try TenantID("globex")
        #expect(throws: SuretyError.self) { try Tenant.require(acme) }
        try Tenant.$current.withValue(acme) {
            try Tenant.require(acme)
            let error = try #require(throws: SuretyError.self) { try Tenant.require(globex) }
            #expect(error.code == .tenantMismatch)
        }
    }

    @Test("secret fields are masked at any depth and their values scrubbed from messages")
    func redaction() {
        let redactor = Redactor(secretFields: ["secret", "token"])
        let payload = #"{"to":"a@b.example","secret":"s3cr3t","nested":{"token":1234,"keep":"x"},"list":[{"secret":"two"}]}"#
        let redacted = redactor.redact(payload: payload)
        #expect(!redacted.contains("s3cr3t") && !redacted.contains("1234") && !redacted.contains("two"))
        #expect(redacted.contains("a@b.example") && redacted.contains(#""keep":"x""#))
        let message = redactor.scrub("provider rejected key s3cr3t (token 1234)", payload: payload)
        #expect(message == "provider rejected key [REDACTED] (token [REDACTED])")
        #expect(Redactor(secretFields: ["secret"]).redact(payload: "{not json") == "\"[REDACTED: payload is not valid JSON]\"")
    }

    @Test("errors have stable codes and safe descriptions")
    func errors() {
        struct Inner: Error, CustomStringConvertible { var description: String { "password=hunter2" } }
        let error = SuretyError(.storeUnavailable, "cannot open the store", underlying: Inner())
        #expect(error.description == "store_unavailable: cannot open the store")
        #expect(!error.description.contains("hunter2"))
        #expect(error.debugDescription.contains("hunter2"))
    }
}
