using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using CsiDriver.Kubernetes;
using CsiDriver.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CsiDriver.Host.Tests.Kubernetes;

[Trait("Category", "Unit")]
public sealed class InClusterKubernetesNodeApiTests
{
    private static InClusterKubernetesNodeApi Api(FakeKubernetesApiServer server, string? tokenPath = null, int maxAttempts = 4) =>
        new(Options.Create(new KubernetesApiOptions
        {
            BaseUri = server.BaseUri,
            Token = tokenPath is null ? server.Token : null,
            TokenPath = tokenPath,
            MaxAttempts = maxAttempts,
            InitialBackoff = TimeSpan.FromMilliseconds(5),
            MaxBackoff = TimeSpan.FromMilliseconds(20),
        }), NullLogger<InClusterKubernetesNodeApi>.Instance);

    [Fact]
    public async Task Get_reads_name_provider_labels_taints_and_resource_version()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a", ("block.csi.csidriver.io/agent-not-ready", null, "NoExecute", "2026-11-25T08:00:00Z"), ("dedicated", "db", "NoSchedule", null));
        using var api = Api(server);

        var node = await api.GetNodeAsync("node-a", CancellationToken.None);

        Assert.NotNull(node);
        Assert.Equal("node-a", node.Name);
        Assert.Equal("aws:///zone-a/i-0123456789abcdef0", node.ProviderId);
        Assert.Equal("zone-a", node.Labels["topology.kubernetes.io/zone"]);
        Assert.Equal(server.ResourceVersion("node-a"), node.ResourceVersion);
        Assert.Equal(2, node.Taints.Count);
        Assert.Equal(new NodeTaint("block.csi.csidriver.io/agent-not-ready", null, "NoExecute"), node.Taints[0] with { TimeAdded = null });
        Assert.Equal(new DateTimeOffset(2026, 11, 25, 8, 0, 0, TimeSpan.Zero), node.Taints[0].TimeAdded);
        Assert.Equal("db", node.Taints[1].Value);
        var request = Assert.Single(server.Requests);
        Assert.Equal("Bearer fake-token", request.Authorization);
        Assert.Equal("/api/v1/nodes/node-a", request.Path);
    }

    [Fact]
    public async Task Get_of_a_missing_node_is_null()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        using var api = Api(server);

        Assert.Null(await api.GetNodeAsync("nope", CancellationToken.None));
    }

    [Fact]
    public async Task The_token_file_is_read_again_on_every_call_because_it_rotates()
    {
        using var dir = new TestDirectory("k8stoken");
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a");
        var tokenPath = dir.Path("token");
        await File.WriteAllTextAsync(tokenPath, "first-token\n");
        server.Token = "first-token";
        using var api = Api(server, tokenPath);

        Assert.NotNull(await api.GetNodeAsync("node-a", CancellationToken.None));
        await File.WriteAllTextAsync(tokenPath, "rotated-token");
        server.Token = "rotated-token";
        Assert.NotNull(await api.GetNodeAsync("node-a", CancellationToken.None));

        Assert.Equal(["Bearer first-token", "Bearer rotated-token"], server.Requests.Select(r => r.Authorization));
    }

    [Fact]
    public async Task Transient_server_errors_and_throttling_are_retried()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a");
        server.GetFailures.Enqueue(503);
        server.GetFailures.Enqueue(429);
        server.GetFailures.Enqueue(500);
        using var api = Api(server);

        var node = await api.GetNodeAsync("node-a", CancellationToken.None);

        Assert.NotNull(node);
        Assert.Equal([503, 429, 500, 200], server.Requests.Select(r => r.Status));
    }

    [Fact]
    public async Task Retries_are_bounded_and_the_last_failure_is_reported()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a");
        for (var i = 0; i < 10; i++)
        {
            server.GetFailures.Enqueue(503);
        }
        using var api = Api(server, maxAttempts: 3);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => api.GetNodeAsync("node-a", CancellationToken.None));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task An_unreachable_api_server_fails_after_bounded_retries()
    {
        // A port bound but never listened on refuses connections, and nobody else can take it meanwhile.
        using var closedPort = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closedPort.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var unreachable = new Uri($"http://127.0.0.1:{((IPEndPoint)closedPort.LocalEndPoint!).Port}/");
        using var api = new InClusterKubernetesNodeApi(
            Options.Create(new KubernetesApiOptions { BaseUri = unreachable, Token = "t", MaxAttempts = 2, InitialBackoff = TimeSpan.FromMilliseconds(1) }),
            NullLogger<InClusterKubernetesNodeApi>.Instance);

        await Assert.ThrowsAsync<HttpRequestException>(() => api.GetNodeAsync("node-a", CancellationToken.None));
    }

    [Fact]
    public async Task Patch_sends_a_json_patch_guarded_by_resource_version_and_replaces_the_taints()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a", ("x/agent-not-ready", null, "NoExecute", null), ("keep", "v", "NoExecute", "2026-11-25T07:00:00Z"));
        using var api = Api(server);
        var node = (await api.GetNodeAsync("node-a", CancellationToken.None))!;

        var replaced = await api.TryReplaceTaintsAsync("node-a", node.ResourceVersion, [node.Taints[1]], CancellationToken.None);

        Assert.True(replaced);
        Assert.Equal([("keep", "NoExecute", (string?)"2026-11-25T07:00:00Z")], server.Taints("node-a"));
        var patch = server.Requests.Last();
        Assert.Equal("PATCH", patch.Method);
        Assert.StartsWith("application/json-patch+json", patch.ContentType);
        using var body = JsonDocument.Parse(patch.Body);
        var ops = body.RootElement.EnumerateArray().ToList();
        Assert.Equal("test", ops[0].GetProperty("op").GetString());
        Assert.Equal("/metadata/resourceVersion", ops[0].GetProperty("path").GetString());
        Assert.Equal(node.ResourceVersion, ops[0].GetProperty("value").GetString());
        Assert.Equal("/spec/taints", ops[1].GetProperty("path").GetString());
    }

    [Fact]
    public async Task Patch_against_a_changed_node_returns_false_so_the_caller_rereads()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a", ("x/agent-not-ready", null, "NoExecute", null));
        using var api = Api(server);
        var node = (await api.GetNodeAsync("node-a", CancellationToken.None))!;
        server.ConcurrentWritesBeforePatch = 1;

        Assert.False(await api.TryReplaceTaintsAsync("node-a", node.ResourceVersion, [], CancellationToken.None));
        Assert.Single(server.Taints("node-a"));

        server.PatchFailures.Enqueue(409);
        Assert.False(await api.TryReplaceTaintsAsync("node-a", server.ResourceVersion("node-a"), [], CancellationToken.None));
        Assert.True(await api.TryReplaceTaintsAsync("node-a", server.ResourceVersion("node-a"), [], CancellationToken.None));
        Assert.Empty(server.Taints("node-a"));
    }

    [Fact]
    public async Task Forbidden_becomes_an_access_error_naming_the_missing_permission()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a", ("x/agent-not-ready", null, "NoExecute", null));
        using var api = Api(server);
        var node = (await api.GetNodeAsync("node-a", CancellationToken.None))!;
        server.ForbidPatch = true;

        var patchError = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => api.TryReplaceTaintsAsync("node-a", node.ResourceVersion, [], CancellationToken.None));
        server.ForbidGet = true;
        var getError = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => api.GetNodeAsync("node-a", CancellationToken.None));

        Assert.Contains("patch nodes", patchError.Message);
        Assert.Contains("cannot patch resource", patchError.Message);
        Assert.Contains("get nodes", getError.Message);
        // 403 is not transient: one request each, no retry storm.
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task A_rejected_token_is_an_access_error_not_a_retry()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.AddNode("node-a");
        server.Token = "the-real-token";
        using var api = new InClusterKubernetesNodeApi(
            Options.Create(new KubernetesApiOptions { BaseUri = server.BaseUri, Token = "stale" }), NullLogger<InClusterKubernetesNodeApi>.Instance);

        var error = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => api.GetNodeAsync("node-a", CancellationToken.None));

        Assert.Contains("401", error.Message);
        Assert.DoesNotContain("stale", error.Message);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Debug_logs_show_each_api_call_but_never_the_token()
    {
        await using var server = await FakeKubernetesApiServer.StartAsync();
        server.Token = "eyJhbGciOiJSUzI1NiJ9.secret-service-account-token";
        server.AddNode("node-a", ("x/agent-not-ready", null, "NoExecute", null));
        server.GetFailures.Enqueue(503);
        server.ForbidPatch = true;
        var logs = new CapturingLoggerProvider();
        using var api = new InClusterKubernetesNodeApi(
            Options.Create(new KubernetesApiOptions { BaseUri = server.BaseUri, Token = server.Token, InitialBackoff = TimeSpan.FromMilliseconds(1) }),
            logs.CreateLogger<InClusterKubernetesNodeApi>());

        var node = (await api.GetNodeAsync("node-a", CancellationToken.None))!;
        var forbidden = await Assert.ThrowsAsync<UnauthorizedAccessException>(() => api.TryReplaceTaintsAsync("node-a", node.ResourceVersion, [], CancellationToken.None));

        Assert.Contains(logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Debug && e.Message.Contains("Kubernetes GET ") && e.Message.Contains("/api/v1/nodes/node-a -> 503"));
        Assert.Contains(logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Debug && e.Message.Contains("Kubernetes GET ") && e.Message.Contains("/api/v1/nodes/node-a -> 200"));
        Assert.Contains(logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Debug && e.Message.Contains("Kubernetes PATCH ") && e.Message.Contains("/api/v1/nodes/node-a -> 403"));
        Assert.DoesNotContain("secret-service-account-token", logs.Text);
        Assert.DoesNotContain("secret-service-account-token", forbidden.Message);
    }

    [Fact]
    public void In_cluster_configuration_comes_from_the_service_environment()
    {
        Assert.Null(KubernetesApiOptions.FromEnvironment(_ => null));

        var v4 = KubernetesApiOptions.FromEnvironment(name => name switch { "KUBERNETES_SERVICE_HOST" => "10.96.0.1", "KUBERNETES_SERVICE_PORT" => "443", _ => null })!;
        var v6 = KubernetesApiOptions.FromEnvironment(name => name == "KUBERNETES_SERVICE_HOST" ? "fd00::1" : null)!;

        Assert.Equal(new Uri("https://10.96.0.1:443/"), v4.BaseUri);
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount/token", v4.TokenPath);
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", v4.CaCertificatePath);
        Assert.Equal(new Uri("https://[fd00::1]:443/"), v6.BaseUri);
    }
}
