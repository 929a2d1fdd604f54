using System.Net;
using Csi.V1;
using CsiDriver.Core;
using CsiDriver.Host.Observability;
using CsiDriver.Testing;
using Grpc.Core;

namespace CsiDriver.Host.Tests.Observability;

public sealed class MetricsEndpointTests
{
    private const string Secret = "metrics-must-not-carry-this";

    [Fact]
    public async Task Scrape_after_rpcs_counts_every_call_by_method_and_keeps_histograms_consistent()
    {
        await using var observed = await ObservabilityDriver.StartAsync("metrics");
        var (driver, _, http) = observed;

        for (var i = 0; i < 3; i++)
        {
            await driver.Identity.GetPluginInfoAsync(new GetPluginInfoRequest());
        }
        await driver.Identity.ProbeAsync(new ProbeRequest());
        await driver.Identity.ProbeAsync(new ProbeRequest());
        // A volume lifecycle's calls; whatever each answers, each is one counted request.
        var calls = new Func<Task>[]
        {
            () => driver.Controller.CreateVolumeAsync(new CreateVolumeRequest { Name = "pvc-1", Secrets = { ["key"] = Secret } }).ResponseAsync,
            () => driver.Controller.ControllerPublishVolumeAsync(new ControllerPublishVolumeRequest { VolumeId = "vol-1", NodeId = "test-node" }).ResponseAsync,
            () => driver.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = "vol-1", NodeId = "test-node" }).ResponseAsync,
            () => driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = "vol-1" }).ResponseAsync,
            () => driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = "vol-1" }).ResponseAsync,
        };
        foreach (var call in calls)
        {
            try
            {
                await call();
            }
            catch (RpcException)
            {
            }
        }

        using var response = await http.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(response.Content.Headers.ContentType.Parameters, p => p.Name == "version" && p.Value == "0.0.4");
        var text = await response.Content.ReadAsStringAsync();
        var (types, samples) = PrometheusText.Parse(text);
        PrometheusText.AssertHistogramInvariants(types, samples);

        double Requests(string method) => samples.Where(s => s.Name == "csidriver_csi_rpc_requests_total" && s.Label("method") == method).Sum(s => s.Value);
        double Durations(string method) => samples.Where(s => s.Name == "csidriver_csi_rpc_duration_seconds_count" && s.Label("method") == method).Sum(s => s.Value);
        Assert.Equal(3, Requests("GetPluginInfo"));
        Assert.Equal(2, Requests("Probe"));
        Assert.Equal(1, Requests("CreateVolume"));
        Assert.Equal(1, Requests("ControllerPublishVolume"));
        Assert.Equal(1, Requests("ControllerUnpublishVolume"));
        Assert.Equal(2, Requests("DeleteVolume"));
        foreach (var method in new[] { "GetPluginInfo", "Probe", "CreateVolume", "DeleteVolume" })
        {
            Assert.Equal(Requests(method), Durations(method));
        }
        Assert.All(samples.Where(s => s.Name == "csidriver_csi_rpc_requests_total"), s => Assert.NotEqual(string.Empty, s.Label("code")));
        Assert.Contains(samples, s => s.Name == "csidriver_csi_rpc_requests_total" && s.Label("method") == "Probe" && s.Label("code") == "OK");
        // Nothing is running now, so every method's in-flight gauge is back at zero.
        Assert.All(samples.Where(s => s.Name == "csidriver_csi_rpc_in_flight"), s => Assert.Equal(0, s.Value));
        Assert.Contains(samples, s => s.Name == "csidriver_csi_rpc_in_flight" && s.Label("method") == "CreateVolume");
        // The backend probe behind CSI Probe is a cloud call.
        Assert.Equal(2, samples.Where(s => s.Name == "csidriver_cloud_api_calls_total" && s.Label("backend") == "fake").Sum(s => s.Value));
        Assert.Contains(samples, s => s.Name == "csidriver_local_loop_devices_in_use");
        var build = samples.Single(s => s.Name == "csidriver_build_info");
        Assert.Equal(("all", "local", 1.0), (build.Label("mode"), build.Label("backend"), build.Value));
        Assert.Matches(@"^\d+\.\d+\.\d+", build.Label("version"));
        Assert.DoesNotContain(Secret, text);
    }

    [Fact]
    public async Task Health_endpoints_answer_and_readyz_follows_the_backend()
    {
        await using var observed = await ObservabilityDriver.StartAsync("health");
        var (driver, backend, http) = observed;

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz")).StatusCode);
        var ready = await http.GetAsync("readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.True((await driver.Identity.ProbeAsync(new ProbeRequest())).Ready);

        backend.Reachable = false;
        var notReady = await http.GetAsync("readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        Assert.Contains("backend", await notReady.Content.ReadAsStringAsync());
        // Liveness does not depend on the backend: restarting would not bring it back.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("healthz")).StatusCode);
        // CSI Probe (the livenessprobe sidecar's path) tells the same story.
        Assert.False((await driver.Identity.ProbeAsync(new ProbeRequest())).Ready);

        backend.Reachable = true;
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("readyz")).StatusCode);
    }

    [Fact]
    public async Task Readyz_fails_when_the_csi_socket_stops_accepting_connections()
    {
        await using var observed = await ObservabilityDriver.StartAsync("health");
        var (driver, _, http) = observed;

        // The socket file removed under the running driver: kubelet could no longer reach it either.
        File.Delete(driver.Configuration.Driver.SocketPath);

        var response = await http.GetAsync("readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("socket", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Observability_paths_are_served_only_on_the_metrics_listener_and_csi_only_on_the_socket()
    {
        await using var observed = await ObservabilityDriver.StartAsync("listen");
        var (driver, _, http) = observed;
        using var socket = ObservabilityDriver.SocketClient(driver.Configuration.Driver.SocketPath);

        foreach (var path in new[] { "metrics", "healthz", "readyz" })
        {
            using var overSocket = await socket.GetAsync(path);
            Assert.Equal(HttpStatusCode.NotFound, overSocket.StatusCode);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("csi.v1.Identity/GetPluginInfo")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("")).StatusCode);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.PostAsync("metrics", new StringContent(""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("metrics")).StatusCode);
    }

    [Fact]
    public async Task Without_a_metrics_address_the_driver_opens_no_tcp_listener()
    {
        using var dir = new TestDirectory("nometrics");
        await using var driver = await RunningDriver.StartLocalAsync(dir);

        var addresses = ObservabilityDriver.Addresses(driver);

        Assert.All(addresses, a => Assert.StartsWith("http://unix:", a));
    }
}
