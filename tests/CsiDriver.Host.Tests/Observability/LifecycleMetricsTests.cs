using System.Net;
using Csi.V1;
using CsiDriver.Testing;
using Grpc.Core;

namespace CsiDriver.Host.Tests.Observability;

/// <summary>
/// A whole volume lifecycle on the real local backend, then a scrape: every call must be counted once under
/// the status code the client actually received, with a consistent latency histogram and nothing left in flight.
/// </summary>
public sealed class LifecycleMetricsTests
{
    [Fact]
    public async Task Scrape_after_a_volume_lifecycle_counts_each_call_under_the_code_it_returned()
    {
        using var dir = new TestDirectory("lifemetrics");
        var configuration = RunningDriver.LocalConfiguration(dir);
        configuration.Driver.MetricsAddress = "127.0.0.1:0";
        await using var driver = await RunningDriver.StartAsync(configuration);
        using var http = new HttpClient { BaseAddress = ObservabilityDriver.MetricsUri(driver) };
        var observed = new List<(string Method, string Code)>();

        async Task<T?> Call<T>(string method, Func<AsyncUnaryCall<T>> call) where T : class
        {
            try
            {
                var response = await call().ResponseAsync;
                observed.Add((method, "OK"));
                return response;
            }
            catch (RpcException ex)
            {
                observed.Add((method, ex.StatusCode.ToString()));
                return null;
            }
        }

        var capability = new VolumeCapability
        {
            Mount = new VolumeCapability.Types.MountVolume { FsType = "ext4" },
            AccessMode = new VolumeCapability.Types.AccessMode { Mode = VolumeCapability.Types.AccessMode.Types.Mode.SingleNodeWriter },
        };
        var staging = dir.Path("staging");
        var target = dir.Path("pods", "target");
        Directory.CreateDirectory(staging);
        Directory.CreateDirectory(dir.Path("pods"));

        var created = await Call("CreateVolume", () => driver.Controller.CreateVolumeAsync(new CreateVolumeRequest
        {
            Name = "pvc-metrics", CapacityRange = new CapacityRange { RequiredBytes = 64 << 20 }, VolumeCapabilities = { capability },
        }));
        var volumeId = created?.Volume.VolumeId ?? "vol-not-created";
        var published = await Call("ControllerPublishVolume", () => driver.Controller.ControllerPublishVolumeAsync(new ControllerPublishVolumeRequest
        {
            VolumeId = volumeId, NodeId = "test-node", VolumeCapability = capability,
        }));
        await Call("NodeStageVolume", () => driver.Node.NodeStageVolumeAsync(new NodeStageVolumeRequest
        {
            VolumeId = volumeId, StagingTargetPath = staging, VolumeCapability = capability,
            PublishContext = { published?.PublishContext ?? new Google.Protobuf.Collections.MapField<string, string>() },
        }));
        await Call("NodePublishVolume", () => driver.Node.NodePublishVolumeAsync(new NodePublishVolumeRequest
        {
            VolumeId = volumeId, StagingTargetPath = staging, TargetPath = target, VolumeCapability = capability,
            PublishContext = { published?.PublishContext ?? new Google.Protobuf.Collections.MapField<string, string>() },
        }));
        await Call("NodeUnpublishVolume", () => driver.Node.NodeUnpublishVolumeAsync(new NodeUnpublishVolumeRequest { VolumeId = volumeId, TargetPath = target }));
        await Call("NodeUnstageVolume", () => driver.Node.NodeUnstageVolumeAsync(new NodeUnstageVolumeRequest { VolumeId = volumeId, StagingTargetPath = staging }));
        await Call("ControllerUnpublishVolume", () => driver.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { VolumeId = volumeId, NodeId = "test-node" }));
        await Call("DeleteVolume", () => driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volumeId }));
        // Idempotent repeat: a second delete is its own counted call.
        await Call("DeleteVolume", () => driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = volumeId }));

        using var response = await http.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (types, samples) = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        PrometheusText.AssertHistogramInvariants(types, samples);

        var lifecycleMethods = observed.Select(o => o.Method).ToHashSet();
        var counted = samples
            .Where(s => s.Name == "csidriver_csi_rpc_requests_total" && lifecycleMethods.Contains(s.Label("method")))
            .ToDictionary(s => (s.Label("method"), s.Label("code")), s => s.Value);
        var expected = observed.GroupBy(o => o).ToDictionary(g => g.Key, g => (double)g.Count());
        Assert.Equal(expected.OrderBy(e => e.Key.ToString()), counted.OrderBy(c => c.Key.ToString()));
        foreach (var ((method, code), count) in expected)
        {
            var latencyCount = samples.Single(s => s.Name == "csidriver_csi_rpc_duration_seconds_count" && s.Label("method") == method && s.Label("code") == code);
            Assert.Equal(count, latencyCount.Value);
        }
        Assert.All(samples.Where(s => s.Name == "csidriver_csi_rpc_in_flight"), s => Assert.Equal(0, s.Value));
        Assert.Equal(lifecycleMethods.Order(), samples.Where(s => s.Name == "csidriver_csi_rpc_in_flight").Select(s => s.Label("method")).Order());
    }
}
