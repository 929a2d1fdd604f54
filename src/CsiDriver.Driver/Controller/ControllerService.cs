using Csi.V1;
using CsiDriver.Core;
using CsiDriver.Core.Concurrency;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using CsiDriver.Driver.Grpc;
using CsiDriver.Driver.Validation;
using Grpc.Core;
using static CsiDriver.Driver.Controller.ControllerMapper;
using Microsoft.Extensions.Options;

namespace CsiDriver.Driver.Controller;

/// <summary>
/// CSI Controller: checks each request's shape (required fields, ids, capabilities, capacity range), takes the
/// in-flight lock of the object it changes (busy → ABORTED) and maps it to <see cref="IVolumeProvider"/>.
/// Backend-neutral: what only the backend knows (parameters, sizes, existence) the provider decides and
/// reports as a StorageException, which the interceptor maps to the status code.
/// </summary>
public sealed class ControllerService(IVolumeProvider provider, OperationLocks locks, IOptions<DriverOptions> driverOptions) : Csi.V1.Controller.ControllerBase
{
    private readonly DriverOptions _options = driverOptions.Value;

    public override async Task<CreateVolumeResponse> CreateVolume(CreateVolumeRequest request, ServerCallContext context)
    {
        var name = RequestValidator.RequireId(request.Name, "name");
        var (required, limit) = CapacityRange(request.CapacityRange);
        var capabilities = CapabilityMapper.MapAll(request.VolumeCapabilities, "volume_capabilities");
        CapabilityMapper.EnsureSupported(capabilities, "volume_capabilities");
        var spec = new CreateVolumeSpec(
            name, required, limit, capabilities,
            Map(request.Parameters), Map(request.MutableParameters),
            ContentSource(request.VolumeContentSource),
            Topology(request.AccessibilityRequirements));

        using var held = Acquire($"volume {name}", NameKey(name));
        var volume = await provider.CreateVolumeAsync(spec, context.CancellationToken).ConfigureAwait(false);
        return new CreateVolumeResponse { Volume = ToVolume(volume) };
    }

    public override async Task<DeleteVolumeResponse> DeleteVolume(DeleteVolumeRequest request, ServerCallContext context)
    {
        var volumeId = RequestValidator.RequireId(request.VolumeId, "volume_id");
        // Deleting excludes every other change to the volume, expansion and modification included.
        using var held = Acquire($"volume {volumeId}", VolumeKey(volumeId), ExpandKey(volumeId), ModifyKey(volumeId));
        await provider.DeleteVolumeAsync(volumeId, context.CancellationToken).ConfigureAwait(false);
        return new DeleteVolumeResponse();
    }

    public override async Task<ControllerPublishVolumeResponse> ControllerPublishVolume(ControllerPublishVolumeRequest request, ServerCallContext context)
    {
        var volumeId = RequestValidator.RequireId(request.VolumeId, "volume_id");
        var nodeId = RequestValidator.RequireId(request.NodeId, "node_id");
        var capability = CapabilityMapper.Map(request.VolumeCapability, "volume_capability");
        CapabilityMapper.EnsureSupported([capability], "volume_capability");
        var spec = new PublishSpec(volumeId, nodeId, capability, request.Readonly, Map(request.VolumeContext));

        using var held = Acquire($"volume {volumeId}", VolumeKey(volumeId));
        var publishContext = await provider.PublishAsync(spec, context.CancellationToken).ConfigureAwait(false);
        var response = new ControllerPublishVolumeResponse();
        AddAll(response.PublishContext, publishContext);
        return response;
    }

    public override async Task<ControllerUnpublishVolumeResponse> ControllerUnpublishVolume(ControllerUnpublishVolumeRequest request, ServerCallContext context)
    {
        var volumeId = RequestValidator.RequireId(request.VolumeId, "volume_id");
        var nodeId = OptionalId(request.NodeId, "node_id");
        using var held = Acquire($"volume {volumeId}", VolumeKey(volumeId));
        await provider.UnpublishAsync(volumeId, nodeId, context.CancellationToken).ConfigureAwait(false);
        return new ControllerUnpublishVolumeResponse();
    }

    public override async Task<ValidateVolumeCapabilitiesResponse> ValidateVolumeCapabilities(ValidateVolumeCapabilitiesRequest request, ServerCallContext context)
    {
        var volumeId = RequestValidator.RequireId(request.VolumeId, "volume_id");
        var capabilities = CapabilityMapper.MapAll(request.VolumeCapabilities, "volume_capabilities");
        var volume = await provider.GetVolumeAsync(volumeId, context.CancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"volume {volumeId} not found"));

        var reasons = capabilities.Select(CapabilityMapper.Unsupported).OfType<string>().ToList();
        // The spec says a given volume_context must be the volume's own; a different one is not this volume's.
        var mismatched = request.VolumeContext
            .Where(kv => !volume.VolumeContext.TryGetValue(kv.Key, out var value) || value != kv.Value)
            .Select(kv => InputEcho.Of(kv.Key))
            .Take(8)
            .ToList();
        if (mismatched.Count > 0)
        {
            reasons.Add($"volume_context {string.Join(", ", mismatched)} does not match volume {volumeId}");
        }
        if (reasons.Count > 0)
        {
            // Not an error: an empty `confirmed` tells the CO the capabilities are not supported, and why.
            return new ValidateVolumeCapabilitiesResponse { Message = string.Join("; ", reasons) };
        }
        var confirmed = new ValidateVolumeCapabilitiesResponse.Types.Confirmed();
        confirmed.VolumeContext.Add(request.VolumeContext);
        confirmed.VolumeCapabilities.Add(request.VolumeCapabilities);
        confirmed.Parameters.Add(request.Parameters);
        confirmed.MutableParameters.Add(request.MutableParameters);
        return new ValidateVolumeCapabilitiesResponse { Confirmed = confirmed };
    }

    public override async Task<ListVolumesResponse> ListVolumes(ListVolumesRequest request, ServerCallContext context)
    {
        var maxEntries = MaxEntries(request.MaxEntries);
        var page = await provider.ListVolumesAsync(maxEntries, NullIfEmpty(request.StartingToken), context.CancellationToken).ConfigureAwait(false);
        var response = new ListVolumesResponse { NextToken = page.NextToken ?? string.Empty };
        foreach (var volume in page.Items)
        {
            var status = new ListVolumesResponse.Types.VolumeStatus { VolumeCondition = ToCondition(volume.Condition) };
            status.PublishedNodeIds.Add(volume.PublishedNodeIds);
            response.Entries.Add(new ListVolumesResponse.Types.Entry { Volume = ToVolume(volume), Status = status });
        }
        return response;
    }

    public override Task<GetCapacityResponse> GetCapacity(GetCapacityRequest request, ServerCallContext context) =>
        throw new RpcException(new Status(StatusCode.Unimplemented, "GetCapacity is not supported (GET_CAPACITY is not advertised)"));

    public override Task<ControllerGetCapabilitiesResponse> ControllerGetCapabilities(ControllerGetCapabilitiesRequest request, ServerCallContext context)
    {
        var response = new ControllerGetCapabilitiesResponse();
        foreach (var type in ControllerCapabilities.Advertised(_options.CsiCapabilities))
        {
            response.Capabilities.Add(new ControllerServiceCapability { Rpc = new ControllerServiceCapability.Types.RPC { Type = type } });
        }
        return Task.FromResult(response);
    }

    public override async Task<CreateSnapshotResponse> CreateSnapshot(CreateSnapshotRequest request, ServerCallContext context)
    {
        var sourceVolumeId = RequestValidator.RequireId(request.SourceVolumeId, "source_volume_id");
        var name = RequestValidator.RequireId(request.Name, "name");
        using var held = Acquire($"snapshot {name}", SnapshotNameKey(name));
        var snapshot = await provider.CreateSnapshotAsync(name, sourceVolumeId, Map(request.Parameters), context.CancellationToken).ConfigureAwait(false);
        return new CreateSnapshotResponse { Snapshot = ToSnapshot(snapshot) };
    }

    public override async Task<DeleteSnapshotResponse> DeleteSnapshot(DeleteSnapshotRequest request, ServerCallContext context)
    {
        var snapshotId = RequestValidator.RequireId(request.SnapshotId, "snapshot_id");
        using var held = Acquire($"snapshot {snapshotId}", SnapshotKey(snapshotId));
        await provider.DeleteSnapshotAsync(snapshotId, context.CancellationToken).ConfigureAwait(false);
        return new DeleteSnapshotResponse();
    }

    public override async Task<ListSnapshotsResponse> ListSnapshots(ListSnapshotsRequest request, ServerCallContext context)
    {
        var maxEntries = MaxEntries(request.MaxEntries);
        var filter = new SnapshotFilter(OptionalId(request.SnapshotId, "snapshot_id"), OptionalId(request.SourceVolumeId, "source_volume_id"));
        var page = await provider.ListSnapshotsAsync(filter, maxEntries, NullIfEmpty(request.StartingToken), context.CancellationToken).ConfigureAwait(false);
        var response = new ListSnapshotsResponse { NextToken = page.NextToken ?? string.Empty };
        foreach (var snapshot in page.Items)
        {
            response.Entries.Add(new ListSnapshotsResponse.Types.Entry { Snapshot = ToSnapshot(snapshot) });
        }
        return response;
    }

    public override async Task<GetSnapshotResponse> GetSnapshot(GetSnapshotRequest request, ServerCallContext context)
    {
        var snapshotId = RequestValidator.RequireId(request.SnapshotId, "snapshot_id");
        var snapshot = await provider.GetSnapshotAsync(snapshotId, context.CancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"snapshot {snapshotId} not found"));
        return new GetSnapshotResponse { Snapshot = ToSnapshot(snapshot) };
    }

    public override async Task<ControllerExpandVolumeResponse> ControllerExpandVolume(ControllerExpandVolumeRequest request, ServerCallContext context)
    {
        var volumeId = RequestValidator.RequireId(request.VolumeId, "volume_id");
        if (request.CapacityRange is null)
        {
            throw StatusMapping.Invalid("capacity_range is required");
        }
        var (required, limit) = CapacityRange(request.CapacityRange);
        if (required == 0 && limit == 0)
        {
            throw StatusMapping.Invalid("capacity_range must set required_bytes or limit_bytes");
        }
        var capability = request.VolumeCapability is null ? null : CapabilityMapper.Map(request.VolumeCapability, "volume_capability");

        // Its own key, not the volume's: an expansion and a modification arriving together both reach the provider,
        // which may fold them into one cloud call (EBS ModifyVolume); two expansions still get ABORTED.
        using var held = Acquire($"expansion of volume {volumeId}", ExpandKey(volumeId));
        var result = await provider.ExpandVolumeAsync(volumeId, required > 0 ? required : limit, limit, context.CancellationToken).ConfigureAwait(false);
        // A raw block volume has no filesystem to grow; everything else needs NodeExpandVolume.
        return new ControllerExpandVolumeResponse
        {
            CapacityBytes = result.CapacityBytes,
            NodeExpansionRequired = capability?.IsBlock != true && result.NodeExpansionRequired,
        };
    }

    public override async Task<ControllerGetVolumeResponse> ControllerGetVolume(ControllerGetVolumeRequest request, ServerCallContext context)
    {
        var volumeId = RequestValidator.RequireId(request.VolumeId, "volume_id");
        var volume = await provider.GetVolumeAsync(volumeId, context.CancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"volume {volumeId} not found"));
        var status = new ControllerGetVolumeResponse.Types.VolumeStatus { VolumeCondition = ToCondition(volume.Condition) };
        status.PublishedNodeIds.Add(volume.PublishedNodeIds);
        return new ControllerGetVolumeResponse { Volume = ToVolume(volume), Status = status };
    }

    public override async Task<ControllerModifyVolumeResponse> ControllerModifyVolume(ControllerModifyVolumeRequest request, ServerCallContext context)
    {
        var volumeId = RequestValidator.RequireId(request.VolumeId, "volume_id");
        // "Only the keys present are modified": an empty map changes nothing, and the provider still answers
        // NOT_FOUND for a volume that does not exist (protobuf cannot tell an empty map from a missing one).
        using var held = Acquire($"modification of volume {volumeId}", ModifyKey(volumeId));
        await provider.ModifyVolumeAsync(volumeId, Map(request.MutableParameters), context.CancellationToken).ConfigureAwait(false);
        return new ControllerModifyVolumeResponse();
    }

    public static string VolumeKey(string volumeId) => "controller/volume/" + volumeId;

    public static string ExpandKey(string volumeId) => "controller/expand/" + volumeId;

    public static string ModifyKey(string volumeId) => "controller/modify/" + volumeId;

    public static string NameKey(string name) => "controller/name/" + name;

    public static string SnapshotNameKey(string name) => "controller/snapshot-name/" + name;

    public static string SnapshotKey(string snapshotId) => "controller/snapshot/" + snapshotId;

    /// <summary>Takes the in-flight keys or fails with ABORTED, as the spec asks for a second concurrent call.</summary>
    private IDisposable Acquire(string what, params string[] keys) =>
        locks.TryAcquire(keys) ?? throw new RpcException(new Status(StatusCode.Aborted, $"an operation on {what} is already in progress"));

    private static int MaxEntries(int maxEntries) =>
        maxEntries < 0 ? throw StatusMapping.Invalid($"max_entries must not be negative, got {maxEntries}") : maxEntries;

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
