import Mustache

/// Renders the compiled-in templates inside the layout.
struct Renderer: Sendable {
    let library: MustacheLibrary

    enum Page: String, CaseIterable, Sendable {
        case login, overview, jobs, job, deadLetters, scheduled, alerts, error

        var template: String {
            switch self {
            case .login: Templates.login
            case .overview: Templates.overview
            case .jobs: Templates.jobs
            case .job: Templates.job
            case .deadLetters: Templates.deadLetters
            case .scheduled: Templates.scheduled
            case .alerts: Templates.alerts
            case .error: Templates.error
            }
        }
    }

    init() {
        var library = MustacheLibrary()
        // The templates are constants of this module: a parse error is a programming error
        // that every test of the dashboard would show at once.
        do {
            try library.register(Templates.layout, named: "layout")
            for page in Page.allCases { try library.register(page.template, named: page.rawValue) }
        } catch {
            preconditionFailure("a dashboard template does not parse: \(error)")
        }
        self.library = library
    }

    /// The full HTML page: `page` rendered with `context`, inside the layout with `chrome`.
    func render(_ page: Page, _ context: [String: Any], chrome: [String: Any]) -> String {
        var merged = chrome
        for (key, value) in context where merged[key] == nil { merged[key] = value }
        let body = library.render(context.merging(chrome) { own, _ in own }, withTemplate: page.rawValue) ?? ""
        merged["body"] = body
        return library.render(merged, withTemplate: "layout") ?? ""
    }
}
