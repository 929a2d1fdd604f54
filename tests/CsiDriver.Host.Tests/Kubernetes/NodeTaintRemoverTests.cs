using CsiDriver.Core;
using CsiDriver.Kubernetes;
using CsiDriver.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CsiDriver.Host.Tests.Kubernetes;

public sealed class NodeTaintRemoverTests
{
    private const string TaintKey = DriverOptions.DefaultDriverName + "/agent-not-ready";

    private static readonly NodeTaintRemoverOptions FastRetries = new()
    {
        NodeName = "node-a",
        MaxAttempts = 3,
        InitialBackoff = TimeSpan.FromMilliseconds(5),
        MaxBackoff = TimeSpan.FromMilliseconds(20),
    };

    private static (NodeTaintRemover Remover, InClusterKubernetesNodeApi Api, CapturingLoggerProvider Logs) Create(FakeKubernetesApiServer server, NodeTaintRemoverOptions? options = null)
    {
        var logs = new CapturingLoggerProvider();
        var api = new InClusterKubernetesNodeApi(
            Options.Create(new KubernetesApiOptions { BaseUri = server.BaseUri, Token = server.Token, InitialBackoff = TimeSpan.FromMilliseconds(1), MaxAttempts = 2 }),
            NullLogger<InClusterKubernetesNodeApi>.Instance);
        var remover = new NodeTaintRemover(
            Options.Create(new DriverOptions { Mode = DriverMode.Node, NodeId = "node-a" }),
            Options.Create(options ?? FastRetries),
            new ServiceCollection().BuildServiceProvider(),
            new StartedLifetime(),
            logs.CreateLogger<NodeTaintRemover>());
        return (remover, api, logs);
    }

    [Fact]
    public async Task Removes_only_this_drivers_taint_of_any_effect_and_keeps_the_others_with_their_time()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a",
            ("node.kubernetes.io/not-ready", null, "NoExecute", "2026-11-25T07:59:00Z"),
            (TaintKey, null, "NoExecute", "2026-11-25T08:00:00Z"),
            (TaintKey, "x", "NoSchedule", null),
            ("other.csi.io/agent-not-ready", null, "NoExecute", null));
        var (remover, api, logs) = Create(server);
        using var _ = api;

        var outcome = await remover.RemoveAsync(api, "node-a", CancellationToken.None);

        Assert.Equal(TaintRemovalOutcome.Removed, outcome);
        Assert.Equal(
            [("node.kubernetes.io/not-ready", "NoExecute", (string?)"2026-11-25T07:59:00Z"), ("other.csi.io/agent-not-ready", "NoExecute", null)],
            server.Taints("node-a"));
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("Removed taint " + TaintKey) && e.Message.Contains("node-a"));
    }

    [Fact]
    public async Task A_node_without_the_taint_is_left_alone()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a", ("dedicated", "db", "NoSchedule", null));
        var (remover, api, logs) = Create(server);
        using var _ = api;

        var outcome = await remover.RemoveAsync(api, "node-a", CancellationToken.None);

        Assert.Equal(TaintRemovalOutcome.NotPresent, outcome);
        Assert.DoesNotContain(server.Requests, r => r.Method == "PATCH");
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("no " + TaintKey + " taint"));
    }

    [Fact]
    public async Task A_conflicting_write_is_answered_by_reading_again_and_retrying()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a", (TaintKey, null, "NoExecute", null));
        server.ConcurrentWritesBeforePatch = 2;
        server.PatchFailures.Enqueue(409);
        var (remover, api, _) = Create(server);
        using var __ = api;

        var outcome = await remover.RemoveAsync(api, "node-a", CancellationToken.None);

        Assert.Equal(TaintRemovalOutcome.Removed, outcome);
        Assert.Empty(server.Taints("node-a"));
        Assert.Equal(["GET", "PATCH", "GET", "PATCH", "GET", "PATCH", "GET", "PATCH"], server.Requests.Select(r => r.Method));
        Assert.Equal([409, 422, 422, 200], server.Requests.Where(r => r.Method == "PATCH").Select(r => r.Status));
    }

    [Fact]
    public async Task Forbidden_by_rbac_logs_once_what_to_grant_and_succeeds_once_the_role_is_fixed()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a", (TaintKey, null, "NoExecute", null));
        server.ForbidPatch = true;
        var (remover, api, logs) = Create(server, new NodeTaintRemoverOptions { NodeName = "node-a", ForbiddenRetryInterval = TimeSpan.FromMilliseconds(10) });
        using var _ = api;

        var removal = remover.RemoveAsync(api, "node-a", CancellationToken.None);
        await Eventually.HoldsAsync(() => removal.IsCompleted || server.Requests.Count(r => r.Method == "PATCH") >= 3, "three refused patches");
        Assert.False(removal.IsCompleted, "the remover must keep asking while RBAC forbids it");
        Assert.Single(server.Taints("node-a"));
        server.ForbidPatch = false;

        Assert.Equal(TaintRemovalOutcome.Removed, await removal);
        Assert.Empty(server.Taints("node-a"));
        var error = Assert.Single(logs.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains("patch nodes", error.Message);
        Assert.Contains("resources: [\"nodes\"], verbs: [\"get\", \"patch\"]", error.Message);
        Assert.Contains("asking again every", error.Message);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("RBAC now allows"));
    }

    [Fact]
    public async Task Forbidden_by_rbac_with_no_retry_interval_stops_at_once()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a", (TaintKey, null, "NoExecute", null));
        server.ForbidPatch = true;
        var (remover, api, logs) = Create(server, new NodeTaintRemoverOptions { NodeName = "node-a", ForbiddenRetryInterval = TimeSpan.Zero });
        using var _ = api;

        Assert.Equal(TaintRemovalOutcome.Forbidden, await remover.RemoveAsync(api, "node-a", CancellationToken.None));
        Assert.Single(server.Taints("node-a"));
        Assert.Single(server.Requests, r => r.Method == "PATCH");
        Assert.DoesNotContain("asking again", Assert.Single(logs.Entries, e => e.Level == LogLevel.Error).Message);
    }

    [Fact]
    public async Task An_api_that_stays_down_is_given_up_on_after_bounded_attempts()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a", (TaintKey, null, "NoExecute", null));
        for (var i = 0; i < 100; i++)
        {
            server.GetFailures.Enqueue(503);
        }
        var (remover, api, logs) = Create(server);
        using var _ = api;

        var outcome = await remover.RemoveAsync(api, "node-a", CancellationToken.None);

        Assert.Equal(TaintRemovalOutcome.GaveUp, outcome);
        // 3 attempts of the remover, each retried twice by the API client.
        Assert.Equal(6, server.Requests.Count);
        Assert.Equal(2, logs.Entries.Count(e => e.Level == LogLevel.Warning));
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("kubectl taint node node-a " + TaintKey + "-"));
    }

    [Fact]
    public async Task A_missing_node_is_retried_then_reported()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        var (remover, api, _) = Create(server);
        using var __ = api;

        Assert.Equal(TaintRemovalOutcome.NodeNotFound, await remover.RemoveAsync(api, "node-a", CancellationToken.None));
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task The_running_node_plugin_removes_its_taint_once_it_serves_the_socket()
    {
        using var dir = new TestDirectory("taint");
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a", (TaintKey, null, "NoExecute", null), ("keep", null, "NoSchedule", null));

        var configuration = RunningDriver.LocalConfiguration(dir, DriverMode.Node, nodeId: "node-a");
        await using var driver = await RunningDriver.StartAsync(configuration, configureServices: services =>
        {
            services.AddKubernetesNodeApi(new KubernetesApiOptions { BaseUri = server.BaseUri, Token = server.Token });
            services.AddSingleton(Options.Create(FastRetries));
        });

        var outcome = await driver.Services.GetRequiredService<NodeTaintRemover>().Outcome.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(TaintRemovalOutcome.Removed, outcome);
        Assert.Equal([("keep", "NoSchedule", (string?)null)], server.Taints("node-a"));
    }

    [Fact]
    public async Task Outside_a_cluster_the_node_plugin_skips_taint_removal()
    {
        using var dir = new TestDirectory("taint");
        await using var driver = await RunningDriver.StartLocalAsync(dir, DriverMode.Node);

        var outcome = await driver.Services.GetRequiredService<NodeTaintRemover>().Outcome.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(TaintRemovalOutcome.Skipped, outcome);
    }

    [Fact]
    public async Task A_controller_only_driver_does_not_touch_node_taints()
    {
        using var dir = new TestDirectory("taint");
        await using var driver = await RunningDriver.StartLocalAsync(dir, DriverMode.Controller);

        Assert.Null(driver.Services.GetService<NodeTaintRemover>());
    }

    private sealed class StartedLifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => new(canceled: true);
        public CancellationToken ApplicationStopping => CancellationToken.None;
        public CancellationToken ApplicationStopped => CancellationToken.None;
        public void StopApplication()
        {
        }
    }
}
