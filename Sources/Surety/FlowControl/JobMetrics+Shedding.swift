extension JobMetrics {
    /// `surety_jobs_shed_total{queue, type, policy}`: jobs a full queue refused (`reject`) or
    /// dropped (`drop_new`).
    func shed(_ jobs: [NewJob], policy: OverflowPolicy) {
        for job in jobs {
            count("surety_jobs_shed_total", queue: job.queue, type: job.type, tenant: job.tenant, extra: [("policy", policy.rawValue)])
        }
    }
}
