using CsiDriver.Core.Errors;
using CsiDriver.Core.Observability;
using CsiDriver.Core.Volumes;

namespace CsiDriver.Testing;

/// <summary>
/// A backend whose reachability the test controls. Probe records a cloud call like a real backend would.
/// CreateVolume succeeds only when a test holds it in flight through <see cref="CreateGate"/>; every other
/// volume operation is refused as unimplemented (these tests are about the driver's surface, not storage).
/// </summary>
public sealed class FakeVolumeProvider(DriverMetrics metrics) : IVolumeProvider
{
    private volatile bool _reachable = true;

    public bool Reachable
    {
        get => _reachable;
        set => _reachable = value;
    }

    public string Name => "fake";

    /// <summary>When set, CreateVolume signals <see cref="CreateEntered"/>, waits for this, then succeeds.</summary>
    public TaskCompletionSource? CreateGate { get; set; }

    public TaskCompletionSource CreateEntered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        var reachable = Reachable;
        metrics.CloudCall("fake", "DescribeHealth", TimeSpan.FromMilliseconds(3), reachable ? null : "EndpointUnreachable", throttled: false);
        return Task.FromResult(reachable);
    }

    public async Task<VolumeInfo> CreateVolumeAsync(CreateVolumeSpec spec, CancellationToken cancellationToken)
    {
        if (CreateGate is not { } gate)
        {
            throw Refused();
        }
        CreateEntered.TrySetResult();
        await gate.Task.ConfigureAwait(false);
        return new VolumeInfo("vol-" + spec.Name, spec.RequiredBytes, new Dictionary<string, string>(), null, [], []);
    }

    public Task DeleteVolumeAsync(string volumeId, CancellationToken cancellationToken) => throw Refused();
    public Task<VolumeInfo?> GetVolumeAsync(string volumeId, CancellationToken cancellationToken) => throw Refused();
    public Task<Page<VolumeInfo>> ListVolumesAsync(int maxEntries, string? startingToken, CancellationToken cancellationToken) => throw Refused();
    public Task<IReadOnlyDictionary<string, string>> PublishAsync(PublishSpec spec, CancellationToken cancellationToken) => throw Refused();
    public Task UnpublishAsync(string volumeId, string? nodeId, CancellationToken cancellationToken) => throw Refused();
    public Task<ExpandResult> ExpandVolumeAsync(string volumeId, long requiredBytes, long limitBytes, CancellationToken cancellationToken) => throw Refused();
    public Task ModifyVolumeAsync(string volumeId, IReadOnlyDictionary<string, string> mutableParameters, CancellationToken cancellationToken) => throw Refused();
    public Task<SnapshotInfo> CreateSnapshotAsync(string name, string sourceVolumeId, IReadOnlyDictionary<string, string> parameters, CancellationToken cancellationToken) => throw Refused();
    public Task DeleteSnapshotAsync(string snapshotId, CancellationToken cancellationToken) => throw Refused();
    public Task<SnapshotInfo?> GetSnapshotAsync(string snapshotId, CancellationToken cancellationToken) => throw Refused();
    public Task<Page<SnapshotInfo>> ListSnapshotsAsync(SnapshotFilter filter, int maxEntries, string? startingToken, CancellationToken cancellationToken) => throw Refused();

    private static StorageException Refused() => StorageException.Unimplemented("the fake backend stores nothing");
}
