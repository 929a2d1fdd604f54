using Csi.V1;
using CsiDriver.Core.Concurrency;
using CsiDriver.Core.Volumes;
using CsiDriver.Driver.Controller;
using CsiDriver.Driver.Grpc;
using CsiDriver.Driver.Validation;
using Google.Protobuf.Collections;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;

namespace CsiDriver.Driver.GroupController;

/// <summary>
/// CSI GroupController: crash-consistent volume group snapshots. Checks each request's shape, takes the group's
/// in-flight lock (busy → ABORTED) and maps it to <see cref="IGroupSnapshotProvider"/>. A backend without one
/// advertises no capability, so a group-snapshot-enabled csi-snapshotter sees plainly that there is none.
/// </summary>
public sealed class GroupControllerService(IServiceProvider services, OperationLocks locks) : Csi.V1.GroupController.GroupControllerBase
{
    // Asked, not resolved: building the aws provider resolves the region (maybe from instance metadata), which a
    // capability probe at start-up must not wait on or fail with.
    private readonly bool _supported = services.GetService<IServiceProviderIsService>()?.IsService(typeof(IGroupSnapshotProvider))
        ?? services.GetService<IGroupSnapshotProvider>() is not null;

    public override Task<GroupControllerGetCapabilitiesResponse> GroupControllerGetCapabilities(
        GroupControllerGetCapabilitiesRequest request, ServerCallContext context)
    {
        var response = new GroupControllerGetCapabilitiesResponse();
        if (_supported)
        {
            response.Capabilities.Add(new GroupControllerServiceCapability
            {
                Rpc = new GroupControllerServiceCapability.Types.RPC
                {
                    Type = GroupControllerServiceCapability.Types.RPC.Types.Type.CreateDeleteGetVolumeGroupSnapshot,
                },
            });
        }
        return Task.FromResult(response);
    }

    public override async Task<CreateVolumeGroupSnapshotResponse> CreateVolumeGroupSnapshot(CreateVolumeGroupSnapshotRequest request, ServerCallContext context)
    {
        var provider = Provider();
        var name = RequestValidator.RequireId(request.Name, "name");
        var volumeIds = RequireIds(request.SourceVolumeIds, "source_volume_ids");
        // Every member volume is locked too: a group snapshot racing a delete of one of its volumes gets ABORTED.
        using var held = Acquire($"group snapshot {name}",
            [GroupNameKey(name), .. volumeIds.Select(ControllerService.VolumeKey)]);
        var group = await provider.CreateGroupSnapshotAsync(name, volumeIds, ControllerMapper.Map(request.Parameters),
            DeadlineOf(context), context.CancellationToken).ConfigureAwait(false);
        return new CreateVolumeGroupSnapshotResponse { GroupSnapshot = ToMessage(group) };
    }

    public override async Task<DeleteVolumeGroupSnapshotResponse> DeleteVolumeGroupSnapshot(DeleteVolumeGroupSnapshotRequest request, ServerCallContext context)
    {
        var provider = Provider();
        var groupId = RequestValidator.RequireId(request.GroupSnapshotId, "group_snapshot_id");
        var snapshotIds = OptionalIds(request.SnapshotIds, "snapshot_ids");
        using var held = Acquire($"group snapshot {groupId}",
            [GroupKey(groupId), .. snapshotIds.Select(ControllerService.SnapshotKey)]);
        await provider.DeleteGroupSnapshotAsync(groupId, snapshotIds, context.CancellationToken).ConfigureAwait(false);
        return new DeleteVolumeGroupSnapshotResponse();
    }

    public override async Task<GetVolumeGroupSnapshotResponse> GetVolumeGroupSnapshot(GetVolumeGroupSnapshotRequest request, ServerCallContext context)
    {
        var provider = Provider();
        var groupId = RequestValidator.RequireId(request.GroupSnapshotId, "group_snapshot_id");
        var snapshotIds = OptionalIds(request.SnapshotIds, "snapshot_ids");
        var group = await provider.GetGroupSnapshotAsync(groupId, snapshotIds, context.CancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"group snapshot {groupId} not found"));
        return new GetVolumeGroupSnapshotResponse { GroupSnapshot = ToMessage(group) };
    }

    /// <summary>The client's deadline (gRPC says DateTime.MaxValue for none).</summary>
    public static DateTimeOffset? DeadlineOf(ServerCallContext context) =>
        context.Deadline == DateTime.MaxValue ? null : new DateTimeOffset(DateTime.SpecifyKind(context.Deadline, DateTimeKind.Utc));

    public static string GroupNameKey(string name) => "group/name/" + name;

    public static string GroupKey(string groupId) => "group/id/" + groupId;

    private IGroupSnapshotProvider Provider() =>
        services.GetService<IGroupSnapshotProvider>() ?? throw new RpcException(new Status(StatusCode.Unimplemented,
            "group snapshots are not supported by this backend (CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT is not advertised)"));

    /// <summary>A REQUIRED list of ids: not empty, each a valid id, none twice.</summary>
    private static IReadOnlyList<string> RequireIds(RepeatedField<string> ids, string field)
    {
        if (ids.Count == 0)
        {
            throw StatusMapping.Invalid($"{field} is required and must not be empty");
        }
        var checkedIds = ids.Select((id, i) => RequestValidator.RequireId(id, $"{field}[{i}]")).ToList();
        var repeated = checkedIds.GroupBy(id => id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null)
        {
            throw StatusMapping.Invalid($"{field} lists {repeated.Key} more than once");
        }
        return checkedIds;
    }

    /// <summary>
    /// snapshot_ids of Delete/GetVolumeGroupSnapshot: the spec marks them REQUIRED, but csi-sanity (and a CO that lost
    /// them) sends none, so an empty list is taken as "the group's members, whatever they are"; given ids are checked
    /// against the group (a mismatch is INVALID_ARGUMENT).
    /// </summary>
    private static IReadOnlyList<string> OptionalIds(RepeatedField<string> ids, string field) =>
        ids.Count == 0 ? [] : RequireIds(ids, field);

    private IDisposable Acquire(string what, string[] keys) =>
        locks.TryAcquire(keys) ?? throw new RpcException(new Status(StatusCode.Aborted, $"an operation on {what} or one of its volumes is already in progress"));

    private static VolumeGroupSnapshot ToMessage(GroupSnapshotInfo group)
    {
        var message = new VolumeGroupSnapshot
        {
            GroupSnapshotId = group.GroupSnapshotId,
            CreationTime = Timestamp.FromDateTimeOffset(group.CreatedAt),
            ReadyToUse = group.ReadyToUse,
        };
        message.Snapshots.Add(group.Members.Select(ControllerMapper.ToSnapshot));
        return message;
    }
}
