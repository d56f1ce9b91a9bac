/// The dashboard's Mustache templates, compiled into the module (no files, no build step, no
/// external assets). `{{x}}` escapes HTML; the only `{{{x}}}` (unescaped) values are HTML and SVG
/// the server built itself from escaped parts: the page body and the charts.
enum Templates {
    static let layout = #"""
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{{pageTitle}} · {{title}}</title>
    <style>
    :root{--fg:#1d2330;--muted:#667085;--line:#e4e7ec;--bg:#f8f9fb;--ok:#2f9e60;--bad:#d9423a;--warn:#c7811a;--accent:#3b5bdb}
    *{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
    header{display:flex;align-items:center;gap:18px;padding:10px 20px;background:#1d2330;color:#fff}
    header a{color:#cfd6e4;text-decoration:none}header a.on,header a:hover{color:#fff}header .brand{font-weight:700;color:#fff;margin-right:8px}
    header .who{margin-left:auto;color:#9aa4b5;font-size:12px}header form{display:inline}header button{background:none;border:1px solid #4a5366;color:#cfd6e4;border-radius:4px;padding:2px 8px;cursor:pointer}
    main{padding:18px 20px;max-width:1280px}h1{font-size:20px;margin:4px 0 14px}h2{font-size:16px;margin:22px 0 8px}
    table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line)}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
    th{background:#f1f3f7;font-weight:600;font-size:12px;color:#475467}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
    .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(400px,1fr));gap:14px}
    .card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:12px 14px}.card h2{margin:0 0 8px}
    .kv{display:grid;grid-template-columns:repeat(4,1fr);gap:6px;margin-bottom:8px}.kv div{font-size:12px;color:var(--muted)}.kv b{display:block;font-size:16px;color:var(--fg)}
    .chart .ok{fill:var(--ok)}.chart .bad{fill:var(--bad)}.chart .axis{stroke:#c8ced8}.chart .label{font-size:10px;fill:var(--muted)}
    .state{display:inline-block;padding:0 6px;border-radius:10px;font-size:12px;background:#eef1f6}
    .state-dead{background:#fde4e2;color:#a8261f}.state-completed{background:#e1f5ea;color:#1f7a46}.state-running{background:#e5ebff;color:#2f46b5}.state-retrying{background:#fff1dc;color:#8a5a0f}
    .muted{color:var(--muted)}pre{background:#f4f5f8;border:1px solid var(--line);padding:8px;white-space:pre-wrap;word-break:break-all;margin:0}
    form.filters{display:flex;flex-wrap:wrap;gap:8px;align-items:end;margin-bottom:12px}form.filters label{display:flex;flex-direction:column;font-size:12px;color:var(--muted)}
    input,select{font:inherit;padding:4px 6px;border:1px solid #c8ced8;border-radius:4px}
    button{font:inherit;padding:4px 10px;border-radius:4px;border:1px solid #c8ced8;background:#fff;cursor:pointer}
    button.primary{background:var(--accent);border-color:var(--accent);color:#fff}button.danger{background:#fff;border-color:var(--bad);color:var(--bad)}
    .flash{padding:8px 12px;border-radius:4px;margin-bottom:12px;background:#e1f5ea;border:1px solid #b7e3c8}.flash.error{background:#fde4e2;border-color:#f4b7b2}
    .group{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 14px;margin-bottom:12px}
    .group .err{color:#a8261f;font-family:ui-monospace,monospace;font-size:13px;word-break:break-all}
    .actions{display:flex;gap:8px;align-items:center;flex-wrap:wrap;margin-top:8px}.actions input[type=text]{min-width:280px}
    .pager{margin-top:10px;display:flex;gap:12px}a{color:var(--accent)}
    .timeline li{margin-bottom:6px}.placeholder{border:1px dashed #c8ced8;padding:12px;background:#fff;border-radius:6px}
    </style></head>
    <body><header><span class="brand">Surety</span>
    {{#nav}}<a href="{{href}}" class="{{#on}}on{{/on}}">{{label}}</a>{{/nav}}
    <span class="who">{{title}} · {{actor}}{{#tenant}} · tenant {{tenant}}{{/tenant}}{{#readOnly}} · read-only{{/readOnly}}</span>
    {{#signedIn}}<form method="post" action="{{base}}/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Sign out</button></form>{{/signedIn}}
    </header><main>
    {{#flash}}<div class="flash" id="flash">{{flash}}</div>{{/flash}}{{#flashError}}<div class="flash error" id="flash-error">{{flashError}}</div>{{/flashError}}
    {{{body}}}
    </main></body></html>
    """#

    static let login = #"""
    <h1>Sign in</h1>
    {{#error}}<div class="flash error">{{error}}</div>{{/error}}
    <form method="post" action="{{base}}/login" class="card" style="max-width:420px">
    <p><label>Your name (recorded in the audit trail)<br><input type="text" name="name" id="login-name" autocomplete="username"></label></p>
    <p><label>Token<br><input type="password" name="token" id="login-token" autocomplete="current-password" required></label></p>
    <input type="hidden" name="next" value="{{next}}">
    <button class="primary" type="submit" id="login-submit">Sign in</button>
    </form>
    """#

    static let overview = #"""
    <h1>Overview</h1>
    <p class="muted">Generated {{generatedAt}} UTC. Rates and percentiles cover the last hour; charts the last hour and day
    (completed in green, dead in red){{#truncated}}, from the {{sampled}} most recent jobs enqueued in the last day (this store has no aggregation){{/truncated}}.</p>
    <div class="cards">
    {{#queues}}
    <section class="card queue" id="queue-{{anchor}}"><h2>{{name}}</h2>
    <div class="kv">
    <div>available<b>{{available}}</b></div><div>scheduled<b>{{scheduled}}</b></div><div>running<b>{{running}}</b></div><div>retrying<b>{{retrying}}</b></div>
    <div>completed<b>{{completed}}</b></div><div>cancelled<b>{{cancelled}}</b></div><div>dead letters<b><a href="{{deadHref}}">{{dead}}</a></b></div><div>throughput<b>{{throughput}}</b></div>
    <div>failure rate<b>{{failureRate}}</b></div><div>failed attempts (1 h)<b>{{failedAttempts}}</b></div><div>pickup p50 / p95<b>{{pickupP50}} / {{pickupP95}}</b></div><div>run p50 / p99<b>{{runP50}} / {{runP99}}</b></div>
    </div>
    <div class="muted">Last hour</div>{{{hourChart}}}
    <div class="muted">Last day</div>{{{dayChart}}}
    </section>
    {{/queues}}
    </div>
    {{^queues}}<p class="placeholder">No jobs yet.</p>{{/queues}}
    """#

    static let jobs = #"""
    <h1>Jobs</h1>
    <form class="filters" method="get" action="{{base}}/jobs" id="job-filters">
    <label>State<select name="state" id="filter-state"><option value="">any</option>{{#states}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/states}}</select></label>
    <label>Queue<input type="text" name="queue" id="filter-queue" value="{{queue}}"></label>
    <label>Type<input type="text" name="type" id="filter-type" value="{{type}}"></label>
    <label>Tenant<input type="text" name="tenant" id="filter-tenant" value="{{tenant}}"></label>
    <label>Enqueued since<input type="text" name="since" id="filter-since" value="{{since}}" placeholder="1h, 7d or ISO 8601"></label>
    <label>before<input type="text" name="until" id="filter-until" value="{{until}}" placeholder="ISO 8601"></label>
    <button class="primary" type="submit" id="filter-submit">Filter</button> <a href="{{base}}/jobs">clear</a>
    </form>
    <table id="job-table"><thead><tr><th class="num">ID</th><th>State</th><th>Type</th><th>Queue</th><th>Tenant</th><th class="num">Attempt</th><th>When</th><th>Last error</th></tr></thead><tbody>
    {{#jobs}}<tr class="job-row" data-id="{{id}}" data-state="{{state}}"><td class="num"><a href="{{href}}" class="job-link">{{id}}</a></td><td><span class="state state-{{state}}">{{state}}</span></td><td>{{type}}</td><td>{{queue}}</td><td>{{tenant}}</td><td class="num">{{attempt}}/{{maxAttempts}}</td><td>{{when}}</td><td>{{lastError}}</td></tr>{{/jobs}}
    </tbody></table>
    {{^jobs}}<p class="muted" id="no-jobs">No jobs match.</p>{{/jobs}}
    <div class="pager">{{#nextHref}}<a href="{{nextHref}}" id="next-page">Older →</a>{{/nextHref}}{{#firstHref}}<a href="{{firstHref}}">Newest</a>{{/firstHref}}</div>
    """#

    static let job = #"""
    <h1>Job {{id}} <span class="state state-{{state}}" id="job-state">{{state}}</span></h1>
    <table class="detail"><tbody>
    <tr><th>Type</th><td>{{type}}</td><th>Queue</th><td>{{queue}}</td></tr>
    <tr><th>Tenant</th><td>{{tenant}}</td><th>Priority</th><td>{{priority}}</td></tr>
    <tr><th>Attempts</th><td>{{attempt}} of {{maxAttempts}}</td><th>Dead reason</th><td>{{deadReason}}</td></tr>
    <tr><th>Enqueued</th><td>{{enqueuedAt}}</td><th>Runs at</th><td>{{runAt}}</td></tr>
    <tr><th>Finished</th><td>{{finishedAt}}</td><th>Unique key</th><td>{{uniqueKey}}</td></tr>
    <tr><th>Tags</th><td>{{tags}}</td><th>Correlation</th><td>{{correlation}}</td></tr>
    <tr><th>Last error</th><td colspan="3" id="last-error">{{lastError}}</td></tr>
    <tr><th>Note</th><td colspan="3">{{note}}</td></tr>
    </tbody></table>
    <h2>Payload (secrets redacted)</h2><pre id="payload">{{payload}}</pre>
    {{#canAct}}
    <h2>Actions</h2>
    <form method="post" action="{{base}}/dead-letters/requeue" class="actions" id="requeue-form">
    <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="id" value="{{id}}"><input type="hidden" name="return" value="job">
    <input type="text" name="reason" id="requeue-reason" placeholder="Reason (required, recorded)" required>
    {{#canForce}}<label title="Its payload did not decode; it will not decode next time either unless the job type was fixed"><input type="checkbox" name="force" value="1" id="requeue-force"> force (payload did not decode)</label>{{/canForce}}
    <button class="primary" type="submit" id="requeue-submit">Requeue</button>
    {{#canDiscard}}<button class="danger" type="submit" formaction="{{base}}/dead-letters/discard" id="discard-submit">Discard</button>{{/canDiscard}}
    </form>
    {{/canAct}}
    <h2>Attempt timeline</h2>
    <table id="attempts"><thead><tr><th class="num">#</th><th>Worker</th><th>Started</th><th>Duration</th><th>Outcome</th><th>Error</th></tr></thead><tbody>
    {{#attempts}}<tr><td class="num">{{attempt}}</td><td>{{worker}}</td><td>{{startedAt}}</td><td>{{duration}}</td><td><span class="state state-{{outcomeClass}}">{{outcome}}</span></td><td>{{error}}</td></tr>{{/attempts}}
    </tbody></table>
    {{^attempts}}<p class="muted">No attempts yet.</p>{{/attempts}}
    <h2>Audit trail</h2>
    <table id="audit"><thead><tr><th>At</th><th>Action</th><th>By</th><th>Reason</th></tr></thead><tbody>
    {{#audit}}<tr><td>{{at}}</td><td>{{action}}</td><td>{{actor}}</td><td>{{reason}}</td></tr>{{/audit}}
    </tbody></table>
    {{^audit}}<p class="muted">No operator actions.</p>{{/audit}}
    """#

    static let deadLetters = #"""
    <h1>Dead-letter inbox</h1>
    <form class="filters" method="get" action="{{base}}/dead-letters">
    <label>Queue<input type="text" name="queue" value="{{queue}}"></label>
    <label>Type<input type="text" name="type" value="{{type}}"></label>
    <label>Tenant<input type="text" name="tenant" value="{{tenant}}"></label>
    <label>Dead since<input type="text" name="since" value="{{since}}" placeholder="1h, 7d or ISO 8601"></label>
    <button type="submit">Filter</button>
    </form>
    <p class="muted">{{total}} dead jobs in {{groupCount}} groups (by type and error){{#truncated}}; showing the most recent {{limit}}{{/truncated}}.</p>
    {{#groups}}
    <section class="group" id="group-{{index}}">
    <div><b>{{type}}</b> · <span class="state state-dead">{{count}} dead</span> · {{deadReason}} · last {{latest}}</div>
    <div class="err">{{errorType}}: {{errorMessage}}</div>
    <table><thead><tr><th class="num">ID</th><th>Tenant</th><th>Queue</th><th class="num">Attempts</th><th>Dead since</th></tr></thead><tbody>
    {{#jobs}}<tr class="dead-row" data-id="{{id}}"><td class="num"><a href="{{href}}" class="job-link">{{id}}</a></td><td>{{tenant}}</td><td>{{queue}}</td><td class="num">{{attempt}}/{{maxAttempts}}</td><td>{{finishedAt}}</td></tr>{{/jobs}}
    </tbody></table>{{#more}}<p class="muted">and {{more}} more in this group.</p>{{/more}}
    {{#canAct}}
    <form method="post" action="{{base}}/dead-letters/requeue" class="actions">
    <input type="hidden" name="csrf" value="{{csrf}}">{{#allIDs}}<input type="hidden" name="id" value="{{.}}">{{/allIDs}}
    <input type="text" name="reason" placeholder="Reason for all {{count}} (required, recorded)" required>
    {{#canForce}}<label title="Their payloads did not decode; they will not decode next time either unless the job type was fixed"><input type="checkbox" name="force" value="1"> force (payloads did not decode)</label>{{/canForce}}
    <button class="primary" type="submit">Requeue all {{count}}</button>
    <button class="danger" type="submit" formaction="{{base}}/dead-letters/discard">Discard all {{count}}</button>
    </form>
    {{/canAct}}
    </section>
    {{/groups}}
    {{^groups}}<p class="placeholder" id="inbox-empty">The dead-letter inbox is empty.</p>{{/groups}}
    <h2>Recent operator actions</h2>
    <table id="recent-audit"><thead><tr><th>At</th><th class="num">Job</th><th>Type</th><th>Action</th><th>By</th><th>Reason</th></tr></thead><tbody>
    {{#audit}}<tr><td>{{at}}</td><td class="num"><a href="{{href}}">{{id}}</a></td><td>{{type}}</td><td>{{action}}</td><td>{{actor}}</td><td>{{reason}}</td></tr>{{/audit}}
    </tbody></table>
    {{^audit}}<p class="muted">No recent actions.</p>{{/audit}}
    """#

    static let scheduled = #"""
    <h1>Scheduled</h1>
    <h2>Recurring schedules</h2>
    {{#schedulesKept}}
    <table id="schedules"><thead><tr><th>Name</th><th>Cron</th><th>Time zone</th><th>Job type</th><th>Queue</th><th>Tenant</th><th>Overlap</th><th>Missed runs</th><th>Last slot</th><th>Next runs</th><th></th></tr></thead><tbody>
    {{#schedules}}<tr class="schedule-row" data-name="{{name}}" data-paused="{{paused}}"><td><b>{{name}}</b>{{#paused}} <span class="state state-cancelled">paused</span>{{/paused}}{{#changed}}<div class="muted">{{changed}}</div>{{/changed}}</td>
    <td><code>{{cron}}</code></td><td>{{timeZone}}</td><td>{{jobType}}</td><td>{{queue}}</td><td>{{tenant}}</td><td>{{overlap}}</td><td>{{missed}}</td>
    <td>{{lastSlot}}{{#lastJob}} (<a href="{{lastJobHref}}">job {{lastJob}}</a>){{/lastJob}}</td><td class="next-runs">{{nextRuns}}</td>
    <td>{{#canAct}}<form method="post" action="{{base}}/scheduled/{{#paused}}resume{{/paused}}{{^paused}}pause{{/paused}}" class="actions">
    <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="name" value="{{name}}">
    <input type="text" name="reason" placeholder="Reason (required, recorded)" required>
    <button type="submit" class="{{#paused}}primary{{/paused}}{{^paused}}danger{{/paused}}">{{#paused}}Resume{{/paused}}{{^paused}}Pause{{/paused}}</button>
    </form>{{/canAct}}</td></tr>{{/schedules}}
    </tbody></table>
    {{^schedules}}<p class="muted" id="no-schedules">No recurring schedules (a Scheduler registers them when it starts).</p>{{/schedules}}
    <p class="muted">Times in UTC. A paused schedule enqueues nothing until resumed; its missed slots are not run on resume.</p>
    {{/schedulesKept}}
    {{^schedulesKept}}<p class="muted">This store keeps no schedules.</p>{{/schedulesKept}}
    <h2>Scheduled jobs</h2>
    <p class="muted">Jobs waiting for their run time, soonest first.</p>
    <table id="scheduled"><thead><tr><th class="num">ID</th><th>Runs at</th><th>Type</th><th>Queue</th><th>Tenant</th><th class="num">Attempt</th></tr></thead><tbody>
    {{#jobs}}<tr><td class="num"><a href="{{href}}">{{id}}</a></td><td>{{runAt}}</td><td>{{type}}</td><td>{{queue}}</td><td>{{tenant}}</td><td class="num">{{attempt}}/{{maxAttempts}}</td></tr>{{/jobs}}
    </tbody></table>
    {{^jobs}}<p class="muted">Nothing scheduled.</p>{{/jobs}}
    """#

    static let alerts = #"""
    <h1>Alerts</h1>
    {{#alertsKept}}
    <p class="muted">Evaluated by the alert monitors (<code>surety worker --alerts FILE</code>) and kept in the store; <code>surety alerts list --all</code> shows the same. Times in UTC.</p>
    <h2>Firing ({{firingCount}})</h2>
    {{#firing}}
    <section class="group alert alert-{{severity}}" data-key="{{key}}">
    <div><span class="state state-dead">{{severity}}</span> <b>{{rule}}</b> · {{group}} · {{environment}}</div>
    <div class="summary">{{summary}}</div>
    <table class="detail"><tbody>
    <tr><th>Since</th><td>{{since}}</td><th>First failure</th><td>{{firstFailure}}</td></tr>
    <tr><th>Last notified</th><td>{{lastNotified}} ({{notices}} notices)</td><th>Escalated</th><td>{{escalated}}</td></tr>
    <tr><th>Affected</th><td>{{affected}} (value {{value}}, threshold {{threshold}})</td><th>Dead letters</th><td>{{#deadHref}}<a href="{{deadHref}}">{{deadLetter}}</a>{{/deadHref}}{{^deadHref}}{{deadLetter}}{{/deadHref}}</td></tr>
    <tr><th>Last error</th><td colspan="3" class="err">{{lastError}}{{#jobHref}} (<a href="{{jobHref}}">job</a>){{/jobHref}}</td></tr>
    <tr><th>What to do</th><td colspan="3">{{whatToDo}}</td></tr>
    </tbody></table>
    </section>
    {{/firing}}
    {{^firing}}<p class="placeholder" id="no-alerts">No alert is firing.</p>{{/firing}}
    <h2>Recently resolved</h2>
    <table id="resolved-alerts"><thead><tr><th>Rule</th><th>Group</th><th>Summary</th><th>Since</th><th>Resolved</th><th>Last notified</th><th>Escalated</th></tr></thead><tbody>
    {{#resolved}}<tr data-key="{{key}}"><td>{{rule}}</td><td>{{group}}</td><td>{{summary}}</td><td>{{since}}</td><td>{{resolvedAt}}</td><td>{{lastNotified}}</td><td>{{escalated}}</td></tr>{{/resolved}}
    </tbody></table>
    {{^resolved}}<p class="muted">None kept.</p>{{/resolved}}
    {{/alertsKept}}
    {{^alertsKept}}<p class="placeholder">This store keeps no alert state. Dead-letter growth is visible on the <a href="{{base}}/dead-letters">dead-letter inbox</a>.</p>{{/alertsKept}}
    """#

    static let error = #"""
    <h1>{{status}}</h1><p class="flash error">{{message}}</p><p><a href="{{base}}/">Back to the overview</a></p>
    """#
}
