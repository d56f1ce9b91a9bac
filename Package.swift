// swift-tools-version: 6.1
// Surety: background jobs that tell the truth.
// The core module `Surety` imports no database or HTTP package, so its tests build fast.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Surety",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Surety", targets: ["Surety"]),
        .library(name: "SuretySQLite", targets: ["SuretySQLite"]),
        .library(name: "SuretyTesting", targets: ["SuretyTesting"]),
        .library(name: "SuretyPostgres", targets: ["SuretyPostgres"]),
        .library(name: "SuretyDashboard", targets: ["SuretyDashboard"]),
        // Alert rules, the monitor, log and command sinks (no HTTP); the webhook sink is its own.
        .library(name: "SuretyAlerts", targets: ["SuretyAlerts"]),
        .library(name: "SuretyAlertWebhook", targets: ["SuretyAlertWebhook"]),
        // The whole operator and worker CLI, to run inside an application's own binary with its
        // own job types (`swift run MyApp surety worker`); the `surety` executable is one user.
        .library(name: "SuretyCLI", targets: ["SuretyCLI"]),
        .library(name: "SuretyHummingbird", targets: ["SuretyHummingbird"]),
        // Vapor apps: `app.surety`, `req.surety`, workers in the app's lifecycle (Vapor only).
        .library(name: "SuretyVapor", targets: ["SuretyVapor"]),
        // The app's own `surety` Vapor command (brings SuretyCLI); opt in separately.
        .library(name: "SuretyVaporCommands", targets: ["SuretyVaporCommands"]),
        // The dashboard mounted in the Vapor app (brings Hummingbird); opt in separately.
        .library(name: "SuretyVaporDashboard", targets: ["SuretyVaporDashboard"]),
        // Enqueue inside a Fluent transaction on PostgreSQL (brings Fluent's Postgres driver).
        .library(name: "SuretyFluentPostgres", targets: ["SuretyFluentPostgres"]),
        .executable(name: "surety", targets: ["surety"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/vapor/vapor.git", from: "4.122.3"),
        // NIOHTTPTypesHTTP1: SuretyVaporDashboard converts Vapor's heads as Hummingbird's server does.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/vapor/fluent.git", from: "4.13.0"),
        .package(url: "https://github.com/vapor/fluent-postgres-driver.git", from: "2.14.0"),
        .package(url: "https://github.com/vapor/fluent-sqlite-driver.git", from: "4.9.0"),
        // `swift package generate-documentation` (scripts/docs.sh); plugin only, nothing links it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
        // OpenTelemetry export for Examples/HummingbirdShop only (OTLP/HTTP; the gRPC trait would add minutes to a cold build).
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // The core: jobs, lifecycle, retries, worker runtime, tenancy, the store contract.
        .target(
            name: "Surety",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The embedded default store: one SQLite file through GRDB.
        .target(
            name: "SuretySQLite",
            dependencies: ["Surety", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "GRDBSQLite", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        // The PostgreSQL store: a PostgresClient pool, SKIP LOCKED claims, LISTEN/NOTIFY wake-ups.
        .target(
            name: "SuretyPostgres",
            dependencies: [
                "Surety",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The web dashboard: server-rendered pages, a JSON API and Prometheus /metrics, as a
        // Hummingbird router a user can mount in their own app (`surety serve` runs it).
        .target(
            name: "SuretyDashboard",
            dependencies: [
                "Surety", "SuretyAlerts", "SuretyViews",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Alert rules, their monitor (a Service), log and command sinks, and child-process exits:
        // Foundation only, outside the core so an app without alerts does not build them.
        .target(
            name: "SuretyAlerts",
            dependencies: [
                "Surety",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Alert notices as HTTP POSTs (async-http-client), apart from SuretyAlerts so only apps
        // that send webhooks build the HTTP client.
        .target(
            name: "SuretyAlertWebhook",
            dependencies: [
                "Surety", "SuretyAlerts",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Hummingbird apps: enqueue for the request's tenant and trace (SuretyService runs the rest).
        .target(
            name: "SuretyHummingbird",
            dependencies: ["Surety", .product(name: "Hummingbird", package: "hummingbird")],
            swiftSettings: strict
        ),
        // Vapor apps: configure on `Application`, enqueue for the request's tenant and trace, run
        // SuretyService in the app's lifecycle. No Fluent, no SuretyCLI.
        .target(
            name: "SuretyVapor",
            dependencies: [
                "Surety", .product(name: "Vapor", package: "vapor"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // `app surety worker|jobs|dlq|...` as a Vapor command (SuretyCLI is only built by apps that opt in).
        .target(
            name: "SuretyVaporCommands",
            dependencies: ["SuretyVapor", "SuretyCLI", .product(name: "Vapor", package: "vapor")],
            swiftSettings: strict
        ),
        // The dashboard (a Hummingbird router) served by a Vapor app's own routes, bridged per request.
        .target(
            name: "SuretyVaporDashboard",
            dependencies: [
                "Surety", "SuretyDashboard",
                .product(name: "Vapor", package: "vapor"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The job exists if and only if the app's Fluent transaction (PostgreSQL) commits.
        .target(
            name: "SuretyFluentPostgres",
            dependencies: [
                "Surety", "SuretyPostgres", "SuretyVapor",
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Vapor", package: "vapor"),
            ],
            swiftSettings: strict
        ),
        // The operator views of a job, attempt, audit row and effect (Codable, redacted), shared
        // by `surety ... --json` and the dashboard's /api so both print one shape.
        .target(name: "SuretyViews", dependencies: ["Surety"], swiftSettings: strict),
        // For users too: the store conformance suite, a test clock, an event recorder.
        .target(name: "SuretyTesting", dependencies: ["Surety"], swiftSettings: strict),
        // The `surety` command: demo, worker, enqueue, stats, jobs, dlq, migrate.
        .target(
            name: "SuretyCLI",
            dependencies: [
                "Surety", "SuretySQLite", "SuretyPostgres", "SuretyAlerts", "SuretyAlertWebhook", "SuretyDashboard", "SuretyViews",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "surety", dependencies: ["SuretyCLI"], swiftSettings: strict),
        // Examples build in CI so the docs' code keeps compiling.
        .executableTarget(
            name: "QuickStart",
            dependencies: [
                "Surety", "SuretySQLite",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/QuickStart",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "WorkflowExample",
            dependencies: [
                "Surety", "SuretySQLite",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Examples/Workflows",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "HummingbirdShop",
            dependencies: [
                "Surety", "SuretySQLite", "SuretyCLI", "SuretyDashboard", "SuretyHummingbird",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            path: "Examples/HummingbirdShop",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "VaporShop",
            dependencies: [
                "Surety", "SuretySQLite", "SuretyCLI", "SuretyVapor", "SuretyVaporCommands", "SuretyDashboard", "SuretyVaporDashboard",
                .product(name: "Vapor", package: "vapor"), .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Examples/VaporShop",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "EffectLedgerExample",
            dependencies: ["Surety", "SuretySQLite", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Examples/EffectLedger",
            swiftSettings: strict
        ),
        .testTarget(
            name: "SuretyTests",
            dependencies: [
                "Surety", "SuretyTesting", .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SuretySQLiteTests",
            dependencies: ["Surety", "SuretySQLite", "SuretyAlerts", "SuretyTesting", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SuretyPostgresTests",
            dependencies: ["Surety", "SuretyPostgres", "SuretyAlerts", "SuretyTesting", .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SuretyDashboardTests",
            dependencies: [
                "Surety", "SuretySQLite", "SuretyAlerts", "SuretyDashboard", "SuretyViews", "SuretyTesting", "SuretyCLI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SuretyAlertsTests",
            dependencies: ["Surety", "SuretyAlerts", "SuretyTesting", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SuretyAlertWebhookTests",
            dependencies: [
                "Surety", "SuretyAlerts", "SuretyAlertWebhook", "SuretyTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SuretyCLITests",
            dependencies: ["Surety", "SuretySQLite", "SuretyPostgres", "SuretyAlerts", "SuretyCLI", "SuretyDashboard", "SuretyViews", "SuretyTesting",
                           "surety", "HummingbirdShop", "VaporShop",
                           .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "Hummingbird", package: "hummingbird"),
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SuretyVaporTests",
            dependencies: [
                "Surety", "SuretySQLite", "SuretyPostgres", "SuretyTesting", "SuretyVapor", "SuretyVaporCommands",
                "SuretyFluentPostgres", "SuretyCLI", "SuretyDashboard", "SuretyVaporDashboard",
                .product(name: "Vapor", package: "vapor"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "VaporTesting", package: "vapor"),
                .product(name: "Fluent", package: "fluent"),
                .product(name: "FluentPostgresDriver", package: "fluent-postgres-driver"),
                .product(name: "FluentSQLiteDriver", package: "fluent-sqlite-driver"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
