using static CsiDriver.Testing.CsiRequests;
using Csi.V1;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using CsiDriver.Testing;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using static CsiDriver.Driver.Tests.Controller.Requests;

namespace CsiDriver.Driver.Tests.Controller;

/// <summary>
/// The service is backend-neutral: what reaches IVolumeProvider is exactly the request as domain records, and
/// what comes back (results and StorageException kinds) becomes the response or status. A recording provider
/// stands in for a backend here.
/// </summary>
public sealed class ControllerMappingTests
{
    [Fact]
    public async Task CreateVolume_hands_the_provider_every_field_as_a_domain_spec()
    {
        using var dir = new TestDirectory("ctl-map");
        var provider = new RecordingProvider();
        await using var driver = await StartWith(dir, provider);
        var request = FromSnapshot("pvc-map", "snap-x", 5 * MiB, 9 * MiB);
        request.VolumeCapabilities.Add(Block());
        request.Parameters["type"] = "gp3";
        request.MutableParameters["iops"] = "4000";
        request.Secrets["token"] = "hidden";
        request.AccessibilityRequirements = new TopologyRequirement
        {
            Requisite = { new Topology { Segments = { ["zone"] = "a" } }, new Topology { Segments = { ["zone"] = "b" } } },
            Preferred = { new Topology { Segments = { ["zone"] = "b" } } },
        };

        var response = await driver.Controller.CreateVolumeAsync(request);

        var spec = provider.LastCreate!;
        Assert.Equal("pvc-map", spec.Name);
        Assert.Equal((5 * MiB, 9 * MiB), (spec.RequiredBytes, spec.LimitBytes));
        Assert.Equal([AccessType.Mount, AccessType.Block], spec.Capabilities.Select(c => c.AccessType));
        Assert.Equal("gp3", spec.Parameters["type"]);
        Assert.Equal("4000", spec.MutableParameters["iops"]);
        Assert.Equal(new VolumeContentSourceSpec("snap-x", null), spec.ContentSource);
        Assert.Equal(["a", "b"], spec.AccessibilityRequirements!.Requisite.Select(t => t["zone"]));
        Assert.Equal(["b"], spec.AccessibilityRequirements.Preferred.Select(t => t["zone"]));
        Assert.Equal("vol-from-fake", response.Volume.VolumeId);
        Assert.Equal("b", Assert.Single(response.Volume.AccessibleTopology).Segments["zone"]);
        Assert.Equal("snap-x", response.Volume.ContentSource.Snapshot.SnapshotId);
    }

    [Fact]
    public async Task Provider_failures_become_their_status_codes_with_the_message()
    {
        using var dir = new TestDirectory("ctl-map-err");
        var provider = new RecordingProvider { Failure = StorageException.ResourceExhausted("zone full") };
        await using var driver = await StartWith(dir, provider);

        var ex = await AssertFailsWith(StatusCode.ResourceExhausted, () => driver.Controller.CreateVolumeAsync(Create("pvc-full")));

        Assert.Equal("zone full", ex.Status.Detail);
    }

    [Fact]
    public async Task ControllerExpandVolume_keeps_a_provider_s_no_node_expansion_answer()
    {
        using var dir = new TestDirectory("ctl-map-exp");
        var provider = new RecordingProvider();
        await using var driver = await StartWith(dir, provider);

        provider.NodeExpansionRequired = false;
        var noNode = await driver.Controller.ControllerExpandVolumeAsync(Expand("vol-1", 10 * MiB, capability: Mount()));
        provider.NodeExpansionRequired = true;
        var mount = await driver.Controller.ControllerExpandVolumeAsync(Expand("vol-1", 10 * MiB, capability: Mount()));
        var block = await driver.Controller.ControllerExpandVolumeAsync(Expand("vol-1", 10 * MiB, capability: Block()));

        Assert.False(noNode.NodeExpansionRequired);
        Assert.True(mount.NodeExpansionRequired);
        Assert.False(block.NodeExpansionRequired);
    }

    [Fact]
    public async Task An_expansion_and_a_modification_of_one_volume_both_reach_the_provider_but_a_second_expansion_is_aborted()
    {
        using var dir = new TestDirectory("ctl-map-fold");
        var provider = new RecordingProvider { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var driver = await StartWith(dir, provider);

        var expand = driver.Controller.ControllerExpandVolumeAsync(Expand("vol-1", 10 * MiB, capability: Mount())).ResponseAsync;
        await provider.WaitForCallsAsync(1);
        var modify = driver.Controller.ControllerModifyVolumeAsync(
            new ControllerModifyVolumeRequest { VolumeId = "vol-1", MutableParameters = { ["iops"] = "4000" } }).ResponseAsync;
        await provider.WaitForCallsAsync(2);
        await AssertFailsWith(StatusCode.Aborted, () => driver.Controller.ControllerExpandVolumeAsync(Expand("vol-1", 20 * MiB, capability: Mount())));
        await AssertFailsWith(StatusCode.Aborted, () => driver.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = "vol-1" }));

        provider.Gate.SetResult();
        await expand;
        await modify;
        Assert.Equal(2, provider.Calls);
    }

    private static Task<RunningDriver> StartWith(TestDirectory dir, RecordingProvider provider) =>
        RunningDriver.StartAsync(RunningDriver.LocalConfiguration(dir), configureServices: services => services.AddSingleton<IVolumeProvider>(provider));

    private sealed class RecordingProvider : IVolumeProvider
    {
        public CreateVolumeSpec? LastCreate { get; private set; }

        public StorageException? Failure { get; init; }

        public bool NodeExpansionRequired { get; set; } = true;

        /// <summary>When set, expansions and modifications wait on it, so tests can hold them in flight.</summary>
        public TaskCompletionSource? Gate { get; init; }

        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public async Task WaitForCallsAsync(int count)
        {
            for (var i = 0; i < 500 && Calls < count; i++)
            {
                await Task.Delay(10);
            }
            Assert.True(Calls >= count, $"expected {count} provider calls in flight, saw {Calls}");
        }

        private async Task EnterAsync()
        {
            Interlocked.Increment(ref _calls);
            if (Gate is not null)
            {
                await Gate.Task;
            }
        }

        public string Name => "recording";

        public Task<bool> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult(true);

        public Task<VolumeInfo> CreateVolumeAsync(CreateVolumeSpec spec, CancellationToken cancellationToken)
        {
            LastCreate = spec;
            if (Failure is not null)
            {
                throw Failure;
            }
            return Task.FromResult(new VolumeInfo("vol-from-fake", spec.RequiredBytes, new Dictionary<string, string>(), spec.ContentSource,
                [new TopologySegments { ["zone"] = "b" }], []));
        }

        public async Task<ExpandResult> ExpandVolumeAsync(string volumeId, long requiredBytes, long limitBytes, CancellationToken cancellationToken)
        {
            await EnterAsync();
            return new ExpandResult(requiredBytes, NodeExpansionRequired);
        }

        public Task ModifyVolumeAsync(string volumeId, IReadOnlyDictionary<string, string> mutableParameters, CancellationToken cancellationToken) =>
            EnterAsync();

        public Task DeleteVolumeAsync(string volumeId, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<VolumeInfo?> GetVolumeAsync(string volumeId, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<Page<VolumeInfo>> ListVolumesAsync(int maxEntries, string? startingToken, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<IReadOnlyDictionary<string, string>> PublishAsync(PublishSpec spec, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task UnpublishAsync(string volumeId, string? nodeId, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<SnapshotInfo> CreateSnapshotAsync(string name, string sourceVolumeId, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task DeleteSnapshotAsync(string snapshotId, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<SnapshotInfo?> GetSnapshotAsync(string snapshotId, CancellationToken cancellationToken) => throw new NotSupportedException();
        public Task<Page<SnapshotInfo>> ListSnapshotsAsync(SnapshotFilter filter, int maxEntries, string? startingToken, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
