/// The OpenAPI 3.1 description of the dashboard's JSON API, served at `/api/openapi.json`.
/// Hand-written; docs/dashboard.md explains each call with examples.
enum OpenAPIDocument {
    static func json(base: String) -> String {
        template.replacingOccurrences(of: "__BASE__", with: base.isEmpty ? "/" : base)
    }

    private static let template = #"""
    {
      "openapi": "3.1.0",
      "info": {"title": "Surety dashboard API", "version": "1",
               "description": "Read the job store and act on the dead-letter inbox. Every call needs Authorization: Bearer TOKEN (or basic credentials with the token as password; the user name is recorded as the actor). A tenant credential sees and acts on its tenant's jobs only. Payloads are redacted."},
      "servers": [{"url": "__BASE__"}],
      "security": [{"bearer": []}, {"basic": []}],
      "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}, "basic": {"type": "http", "scheme": "basic"}},
        "parameters": {
          "state": {"name": "state", "in": "query", "schema": {"type": "string"}, "description": "Comma-separated states: scheduled, available, running, retrying, completed, dead, cancelled."},
          "queue": {"name": "queue", "in": "query", "schema": {"type": "string"}},
          "type": {"name": "type", "in": "query", "schema": {"type": "string"}},
          "tenant": {"name": "tenant", "in": "query", "schema": {"type": "string"}},
          "since": {"name": "since", "in": "query", "schema": {"type": "string"}, "description": "Enqueued at or after: an age (30s, 15m, 1h, 7d) or an ISO 8601 time."},
          "until": {"name": "until", "in": "query", "schema": {"type": "string"}, "description": "Enqueued before: an age or an ISO 8601 time."},
          "before": {"name": "before", "in": "query", "schema": {"type": "integer"}, "description": "Paging: only ids below this (pass next_before_id)."},
          "limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}
        },
        "schemas": {
          "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
          "AttemptError": {"type": ["object", "null"], "properties": {"type": {"type": "string"}, "message": {"type": "string"}, "class": {"type": "string"}}},
          "Job": {"type": "object", "properties": {
            "id": {"type": "integer"}, "type": {"type": "string"}, "queue": {"type": "string"}, "priority": {"type": "integer"},
            "tenant": {"type": "string"}, "state": {"type": "string"}, "payload": {"description": "The payload with secret fields replaced by [REDACTED]."},
            "attempt": {"type": "integer"}, "max_attempts": {"type": "integer"}, "run_at": {"type": "string", "format": "date-time"},
            "enqueued_at": {"type": "string", "format": "date-time"}, "first_attempt_at": {"type": ["string", "null"]},
            "attempted_at": {"type": ["string", "null"]}, "attempted_by": {"type": ["string", "null"]}, "lease_until": {"type": ["string", "null"]},
            "finished_at": {"type": ["string", "null"]}, "last_error": {"$ref": "#/components/schemas/AttemptError"},
            "dead_reason": {"type": ["string", "null"]}, "unique_key": {"type": ["string", "null"]}, "unique_scope": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}}, "correlation": {"type": "object", "additionalProperties": {"type": "string"}},
            "note": {"type": ["string", "null"]}, "url": {"type": "string"}}},
          "Attempt": {"type": "object", "properties": {"attempt": {"type": "integer"}, "worker": {"type": "string"}, "started_at": {"type": "string"},
            "ended_at": {"type": ["string", "null"]}, "duration_seconds": {"type": ["number", "null"]}, "outcome": {"type": ["string", "null"]},
            "error": {"$ref": "#/components/schemas/AttemptError"}}},
          "Audit": {"type": "object", "properties": {"job_id": {"type": "integer"}, "action": {"type": "string"}, "actor": {"type": "string"}, "reason": {"type": "string"}, "at": {"type": "string"}}},
          "Latency": {"type": "object", "properties": {"count": {"type": "integer"}, "p50": {"type": ["number", "null"]}, "p95": {"type": ["number", "null"]}, "p99": {"type": ["number", "null"]}, "max": {"type": ["number", "null"]}}},
          "Series": {"type": "object", "properties": {"start": {"type": "string"}, "bucket_seconds": {"type": "number"}, "completed": {"type": "array", "items": {"type": "integer"}}, "dead": {"type": "array", "items": {"type": "integer"}}}},
          "Queue": {"type": "object", "properties": {"queue": {"type": "string"}, "depth": {"type": "object", "additionalProperties": {"type": "integer"}},
            "dead_letter_size": {"type": "integer"}, "completed_last_hour": {"type": "integer"}, "dead_last_hour": {"type": "integer"},
            "failed_attempts_last_hour": {"type": "integer"}, "throughput_per_minute": {"type": "number"}, "failure_rate": {"type": ["number", "null"]},
            "pickup_latency_seconds": {"$ref": "#/components/schemas/Latency"}, "run_seconds": {"$ref": "#/components/schemas/Latency"},
            "last_hour": {"$ref": "#/components/schemas/Series"}, "last_day": {"$ref": "#/components/schemas/Series"}}},
          "Alert": {"type": "object", "description": "A stored alert (docs/alerts.md). Error messages are stored redacted by the monitor.", "properties": {
            "key": {"type": "string"}, "rule": {"type": "string"}, "kind": {"type": "string"}, "group": {"type": "string", "description": "The subject the rule groups by: a job type, or a queue for the queue rules."},
            "job_type": {"type": ["string", "null"]}, "queue": {"type": ["string", "null"]}, "queues": {"type": "array", "items": {"type": "string"}},
            "environment": {"type": "string"}, "status": {"type": "string", "enum": ["firing", "resolved"]},
            "severity": {"type": "string", "enum": ["firing", "escalated", "resolved"], "description": "Rules have no configured severity; escalated is an alert still firing past the escalation delay."},
            "summary": {"type": "string"}, "firing_since": {"type": "string"}, "first_failure_at": {"type": ["string", "null"]}, "observed_at": {"type": "string"},
            "resolved_at": {"type": ["string", "null"]}, "last_notified_at": {"type": "string"}, "notices": {"type": "integer"}, "escalated_at": {"type": ["string", "null"]},
            "affected": {"type": "integer"}, "value": {"type": "number"}, "threshold": {"type": "number"},
            "dead_letter": {"type": "object", "properties": {"count": {"type": "integer"}, "arrived_in_window": {"type": "integer"}}},
            "last_error": {"type": ["object", "null"], "properties": {"type": {"type": "string"}, "class": {"type": "string"}, "message": {"type": "string"}, "job_id": {"type": ["integer", "null"]}, "at": {"type": ["string", "null"]}}},
            "what_to_do": {"type": "string"}, "version": {"type": "integer"}, "updated_at": {"type": "string"}}},
          "Schedule": {"type": "object", "properties": {
            "name": {"type": "string"}, "cron": {"type": "string"}, "time_zone": {"type": "string"}, "job_type": {"type": "string"}, "queue": {"type": "string"},
            "tenant": {"type": "string"}, "overlap": {"type": "string"}, "missed": {"type": "string"}, "paused": {"type": "boolean"},
            "changed_by": {"type": ["string", "null"]}, "change_reason": {"type": ["string", "null"]}, "changed_at": {"type": ["string", "null"]},
            "last_slot": {"type": ["string", "null"]}, "last_job_id": {"type": ["integer", "null"]},
            "next_runs": {"type": "array", "items": {"type": "string", "format": "date-time"}, "description": "The next three fire times (none while paused)."}}},
          "ScheduleActionRequest": {"type": "object", "required": ["name", "reason"], "properties": {"name": {"type": "string"}, "reason": {"type": "string", "minLength": 1}}},
          "ActionRequest": {"type": "object", "required": ["ids", "reason"], "properties": {"ids": {"type": "array", "items": {"type": "integer"}}, "reason": {"type": "string", "minLength": 1}, "dry_run": {"type": "boolean", "default": false}, "force": {"type": "boolean", "default": false, "description": "requeue: also take dead jobs whose dead reason is undecodable_payload (skipped otherwise)"}}},
          "ActionResult": {"type": "object", "properties": {"action": {"type": "string"}, "dry_run": {"type": "boolean"}, "changed": {"type": "array", "items": {"type": "integer"}},
            "skipped": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}, "reason": {"type": "string"}}}}}}
        },
        "responses": {
          "Error": {"description": "An error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      },
      "paths": {
        "/api/overview": {"get": {"summary": "Depth by state, throughput, failure rate, latency percentiles and chart series per queue",
          "responses": {"200": {"description": "Overview", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "generated_at": {"type": "string"}, "aggregated": {"type": "boolean", "description": "true: exact figures from the store's aggregation; false: from a sample of recent jobs (a store without JobStatisticsStore)."},
            "sampled_jobs": {"type": ["integer", "null"]}, "sample_limit": {"type": ["integer", "null"]},
            "all": {"$ref": "#/components/schemas/Queue"}, "queues": {"type": "array", "items": {"$ref": "#/components/schemas/Queue"}}}}}}},
            "401": {"$ref": "#/components/responses/Error"}}}},
        "/api/jobs": {"get": {"summary": "Jobs matching the filters, newest first",
          "parameters": [{"$ref": "#/components/parameters/state"}, {"$ref": "#/components/parameters/queue"}, {"$ref": "#/components/parameters/type"},
            {"$ref": "#/components/parameters/tenant"}, {"$ref": "#/components/parameters/since"}, {"$ref": "#/components/parameters/until"},
            {"$ref": "#/components/parameters/before"}, {"$ref": "#/components/parameters/limit"}],
          "responses": {"200": {"description": "A page of jobs", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}}, "next_before_id": {"type": ["integer", "null"]}}}}}},
            "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}}}},
        "/api/jobs/{id}": {"get": {"summary": "One job with its attempt timeline and audit trail",
          "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
          "responses": {"200": {"description": "The job", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "job": {"$ref": "#/components/schemas/Job"}, "attempts": {"type": "array", "items": {"$ref": "#/components/schemas/Attempt"}},
            "audit": {"type": "array", "items": {"$ref": "#/components/schemas/Audit"}}}}}}},
            "404": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}}}},
        "/api/dead-letters": {"get": {"summary": "Dead jobs grouped by type and error",
          "parameters": [{"$ref": "#/components/parameters/queue"}, {"$ref": "#/components/parameters/type"}, {"$ref": "#/components/parameters/tenant"}, {"$ref": "#/components/parameters/since"}],
          "responses": {"200": {"description": "Groups", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "truncated": {"type": "boolean"}, "groups": {"type": "array", "items": {"type": "object", "properties": {
              "type": {"type": "string"}, "error_type": {"type": "string"}, "error_message": {"type": "string"}, "dead_reason": {"type": "string"},
              "count": {"type": "integer"}, "latest": {"type": ["string", "null"]}, "job_ids": {"type": "array", "items": {"type": "integer"}}}}}}}}}},
            "401": {"$ref": "#/components/responses/Error"}}}},
        "/api/scheduled": {"get": {"summary": "Jobs in state scheduled, soonest first",
          "responses": {"200": {"description": "Jobs", "content": {"application/json": {"schema": {"type": "object", "properties": {"jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}}}}}}},
            "401": {"$ref": "#/components/responses/Error"}}}},
        "/api/alerts": {"get": {"summary": "Firing and recently resolved alerts, firing first (not for tenant credentials)",
          "responses": {"200": {"description": "Alerts", "content": {"application/json": {"schema": {"type": "object", "properties": {"alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}}}}}},
            "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/schedules": {"get": {"summary": "Recurring schedules with their next runs (a tenant credential: its tenant's schedules)",
          "responses": {"200": {"description": "Schedules", "content": {"application/json": {"schema": {"type": "object", "properties": {"schedules": {"type": "array", "items": {"$ref": "#/components/schemas/Schedule"}}}}}}},
            "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/schedules/pause": {"post": {"summary": "Pause a schedule (recorded with who and why; a reason is required)",
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScheduleActionRequest"}}}},
          "responses": {"200": {"description": "The schedule", "content": {"application/json": {"schema": {"type": "object", "properties": {"schedule": {"$ref": "#/components/schemas/Schedule"}}}}}},
            "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/schedules/resume": {"post": {"summary": "Resume a paused schedule from its next slot (a reason is required)",
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ScheduleActionRequest"}}}},
          "responses": {"200": {"description": "The schedule", "content": {"application/json": {"schema": {"type": "object", "properties": {"schedule": {"$ref": "#/components/schemas/Schedule"}}}}}},
            "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"}}}},
        "/api/jobs/requeue": {"post": {"summary": "Requeue dead or cancelled jobs (audited; a reason is required)",
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ActionRequest"}}}},
          "responses": {"200": {"description": "What changed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ActionResult"}}}},
            "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}}}},
        "/api/jobs/discard": {"post": {"summary": "Discard dead jobs (moves them to cancelled; audited; a reason is required)",
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ActionRequest"}}}},
          "responses": {"200": {"description": "What changed", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ActionResult"}}}},
            "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}}}},
        "/metrics": {"get": {"summary": "Prometheus text exposition (surety_* series); not for tenant credentials",
          "responses": {"200": {"description": "Metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}, "401": {"$ref": "#/components/responses/Error"}, "403": {"$ref": "#/components/responses/Error"}}}}
      }
    }
    """#
}
