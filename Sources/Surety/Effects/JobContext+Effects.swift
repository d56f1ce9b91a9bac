import Foundation

extension JobContext {
    /// Runs a side effect at most once per stable key, and returns its recorded result on every
    /// later attempt.
    ///
    /// ```swift
    /// let receipt = try await context.effect("charge", key: order.id) { idempotencyKey in
    ///     try await payments.charge(order.amount, idempotencyKey: idempotencyKey)
    /// }
    /// ```
    ///
    /// The ledger records `started` before `perform` and `confirmed` with its result after. On a
    /// later attempt a confirmed effect returns its result without running. An effect started but
    /// never confirmed (the worker died in between, the response was lost) is *in doubt*:
    /// `reconcile`, when given, asks the outside world (by the same idempotency key) and its answer
    /// is recorded; otherwise `policy` decides. See docs/effects.md for the guarantees.
    ///
    /// - Parameters:
    ///   - name: the effect's name within the job.
    ///   - key: distinguishes several effects of one name in one job. Default: empty.
    ///   - policy: for in-doubt effects without a conclusive reconcile. Default: ``InDoubtPolicy/stopInDoubt``.
    ///   - reconcile: looks the effect up by idempotency key. Default: none.
    ///   - perform: does the effect, given the idempotency key to pass to the provider.
    /// - Throws: ``SuretyError/Code/invalidArgument`` when the store has no effect ledger,
    ///   ``EffectInDoubt`` when stopping for a human, ``LeaseLostBeforeEffect``, or `perform`'s error.
    public func effect<Result: Codable & Sendable>(
        _ name: String, key: String = "", policy: InDoubtPolicy = .stopInDoubt,
        reconcile: (@Sendable (String) async throws -> ReconcileAnswer<Result>)? = nil,
        perform: @Sendable (String) async throws -> Result
    ) async throws -> Result {
        guard let ledger = queueClient.store as? any EffectLedgerStore, let lease else {
            throw SuretyError(.invalidArgument, "this store has no effect ledger; context.effect needs a store that conforms to EffectLedgerStore")
        }
        let effectKey = EffectKey(tenant: tenant, jobID: id, name: name, key: key)
        let idempotencyKey = effectKey.idempotencyKey
        // The caller's key is often a secret field or an address: logged scrubbed, like errors.
        let loggedKey = redactor.scrub(key, payload: payload)
        switch try await ledger.beginEffect(effectKey, lease: lease, attempt: attempt, worker: worker, now: clock.now()) {
        case .leaseLost:
            throw LeaseLostBeforeEffect(key: effectKey)
        case .started:
            break
        case .existing(let record) where record.state == .confirmed:
            logger.debug("effect already confirmed; returning its recorded result", metadata: ["effect": "\(name)", "effect_key": "\(loggedKey)"])
            return try EffectCoding.decode(Result.self, from: record.result ?? "null", key: effectKey)
        case .existing(let record):
            logger.warning("effect in doubt: started by an earlier attempt and never confirmed", metadata: [
                "effect": "\(name)", "effect_key": "\(loggedKey)", "started_attempt": "\(record.attempt)",
            ])
            var answer: ReconcileAnswer<Result> = .unknown
            if let reconcile { answer = try await reconcile(idempotencyKey) }
            switch answer {
            case .happened(let result):
                try await ledger.confirmEffect(effectKey, result: try EffectCoding.encode(result, key: effectKey), now: clock.now())
                logger.info("effect reconciled: it had happened", metadata: ["effect": "\(name)"])
                return result
            case .didNotHappen:
                logger.info("effect reconciled: it had not happened; performing it", metadata: ["effect": "\(name)"])
            case .unknown:
                if policy == .stopInDoubt { throw EffectInDoubt(key: effectKey, startedInAttempt: record.attempt) }
                logger.info("effect in doubt; re-running with the same idempotency key", metadata: ["effect": "\(name)"])
            }
            // Record that this attempt is the one performing it now: forget the record seen
            // (fenced: a stale attempt forgets nothing), then start anew.
            try await forget(effectKey, startedAttempt: record.attempt, ledger: ledger, lease: lease)
            if case .leaseLost = try await ledger.beginEffect(effectKey, lease: lease, attempt: attempt, worker: worker, now: clock.now()) {
                throw LeaseLostBeforeEffect(key: effectKey)
            }
        }
        let result: Result
        do {
            CrashPoints.reach(.effectStarted)
            result = try await perform(idempotencyKey)
        } catch {
            guard let notPerformed = EffectNotPerformed.evidence(in: error) else { throw error }
            // Surely not performed: forget this attempt's record, so the next attempt performs
            // it instead of stopping in doubt, and fail with the provider's own error.
            try await forget(effectKey, startedAttempt: attempt, ledger: ledger, lease: lease)
            logger.info("effect not performed (a definite refusal); the next attempt performs it", metadata: ["effect": "\(name)"])
            throw notPerformed
        }
        CrashPoints.reach(.effectPerformed)
        try await ledger.confirmEffect(effectKey, result: try EffectCoding.encode(result, key: effectKey), now: clock.now())
        return result
    }

    private func forget(_ key: EffectKey, startedAttempt: Int, ledger: any EffectLedgerStore, lease: Lease) async throws {
        do {
            try await ledger.forgetUnconfirmedEffect(key, lease: lease, startedAttempt: startedAttempt)
        } catch let error as SuretyError where error.code == .leaseLost {
            throw LeaseLostBeforeEffect(key: key)
        }
    }
}

/// Effect results in ``JobCoding``'s one JSON coding, with the effect named in the errors.
enum EffectCoding {
    static func encode<R: Encodable>(_ value: R, key: EffectKey) throws -> String {
        do {
            return try JobCoding.encodeValue(value)
        } catch {
            throw SuretyError(.invalidPayload, "the result of effect '\(key.name)' does not encode as JSON")
        }
    }

    static func decode<R: Decodable>(_ type: R.Type, from text: String, key: EffectKey) throws -> R {
        do {
            return try JobCoding.decodeValue(R.self, from: text)
        } catch {
            throw SuretyError(.invalidPayload, "the recorded result of effect '\(key.name)' does not decode as \(R.self): \(JobQueue.describeDecoding(error))")
        }
    }
}
