using Csi.V1;
using CsiDriver.Core;
using CsiDriver.Core.Concurrency;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Node;
using CsiDriver.Core.Volumes;
using CsiDriver.Driver.Grpc;
using CsiDriver.Driver.Validation;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Filesystems;
using CsiDriver.Mounter.Mounts;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Driver.Node;

/// <summary>
/// CSI Node: stage (format a blank device + mount), publish (bind), expand, stats, info. This class validates
/// requests and serialises work per volume; the work itself lives in the stager, publisher, expander and stats reader.
/// </summary>
public sealed class NodeService : Csi.V1.Node.NodeBase
{
    private readonly INodeIdentityProvider _identity;
    private readonly OperationLocks _locks;
    private readonly DriverOptions _options;
    private readonly VolumeStager _stager;
    private readonly VolumePublisher _publisher;
    private readonly VolumeExpander _expander;
    private readonly VolumeStatsReader _statsReader;
    private readonly NodePathConfinement _confinement;

    // Internal: its collaborators are internal; CsiServiceRegistration builds it from the container.
    internal NodeService(
        INodeIdentityProvider identity,
        OperationLocks locks,
        IOptions<DriverOptions> options,
        NodePathConfinement confinement,
        VolumeStager stager,
        VolumePublisher publisher,
        VolumeExpander expander,
        VolumeStatsReader statsReader)
    {
        _identity = identity;
        _locks = locks;
        _options = options.Value;
        _confinement = confinement;
        _stager = stager;
        _publisher = publisher;
        _expander = expander;
        _statsReader = statsReader;
    }

    public override async Task<NodeStageVolumeResponse> NodeStageVolume(NodeStageVolumeRequest request, ServerCallContext context)
    {
        var volumeId = RequestValidator.RequireId(request.VolumeId, "volume_id");
        var stagingPath = RequestValidator.RequirePath(request.StagingTargetPath, "staging_target_path");
        var capability = CapabilityMapper.Map(request.VolumeCapability, "volume_capability");
        CapabilityMapper.EnsureSupported([capability], "volume_capability");
        var mountFlags = MountFlagPolicy.Validate(capability.MountFlags, "volume_capability.mount.mount_flags");
        var staging = _confinement.Require(stagingPath, "staging_target_path", FailureKind.InvalidArgument);
        if (capability.IsBlock)
        {
            // A block volume is bound straight from its device at publish: nothing to format, mount or remember.
            return new NodeStageVolumeResponse();
        }
        var stage = new StageRequest(
            volumeId,
            staging.Canonical,
            capability.FsType,
            mountFlags,
            FormatOptions.Parse(request.VolumeContext, capability.FsType.Length > 0 ? capability.FsType : CapabilityMapper.DefaultFsType),
            request.PublishContext);
        using (Lock(volumeId))
        {
            await _stager.StageAsync(stage, context.CancellationToken).ConfigureAwait(false);
        }
        return new NodeStageVolumeResponse();
    }

    public override async Task<NodeUnstageVolumeResponse> NodeUnstageVolume(NodeUnstageVolumeRequest request, ServerCallContext context)
    {
        var volumeId = RequestValidator.RequireId(request.VolumeId, "volume_id");
        var stagingPath = RequestValidator.RequirePath(request.StagingTargetPath, "staging_target_path");
        // Outside kubelet's tree nothing is touched: INVALID_ARGUMENT, the path is not one this plugin ever stages at.
        var staging = _confinement.Require(stagingPath, "staging_target_path", FailureKind.InvalidArgument);
        using (Lock(volumeId))
        {
            await _stager.UnstageAsync(volumeId, staging.Canonical, context.CancellationToken).ConfigureAwait(false);
        }
        return new NodeUnstageVolumeResponse();
    }

    public override async Task<NodePublishVolumeResponse> NodePublishVolume(NodePublishVolumeRequest request, ServerCallContext context)
    {
        var volumeId = RequestValidator.RequireId(request.VolumeId, "volume_id");
        var targetPath = RequestValidator.RequirePath(request.TargetPath, "target_path");
        var capability = CapabilityMapper.Map(request.VolumeCapability, "volume_capability");
        CapabilityMapper.EnsureSupported([capability], "volume_capability");
        // A bind takes none of them, but the same capability is staged with them: refuse what staging would.
        MountFlagPolicy.Validate(capability.MountFlags, "volume_capability.mount.mount_flags");
        if (string.IsNullOrEmpty(request.StagingTargetPath))
        {
            // The spec's code for "STAGE_UNSTAGE_VOLUME is offered but no staging_target_path was set".
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                "staging_target_path is required: this plugin stages volumes (STAGE_UNSTAGE_VOLUME)"));
        }
        var stagingPath = RequestValidator.RequirePath(request.StagingTargetPath, "staging_target_path");
        var staging = _confinement.Require(stagingPath, "staging_target_path", FailureKind.InvalidArgument);
        var target = _confinement.Require(targetPath, "target_path", FailureKind.InvalidArgument);
        var readOnly = request.Readonly || capability.AccessMode is AccessMode.SingleNodeReaderOnly or AccessMode.MultiNodeReaderOnly;
        var publish = new PublishRequest(volumeId, staging.Canonical, target.Canonical, readOnly, request.PublishContext);
        using (Lock(volumeId))
        {
            if (capability.IsBlock)
            {
                await _publisher.PublishBlockAsync(publish, context.CancellationToken).ConfigureAwait(false);
            }
            else
            {
                await _publisher.PublishFilesystemAsync(publish, context.CancellationToken).ConfigureAwait(false);
            }
        }
        return new NodePublishVolumeResponse();
    }

    public override async Task<NodeUnpublishVolumeResponse> NodeUnpublishVolume(NodeUnpublishVolumeRequest request, ServerCallContext context)
    {
        var volumeId = RequestValidator.RequireId(request.VolumeId, "volume_id");
        var targetPath = RequestValidator.RequirePath(request.TargetPath, "target_path");
        // Outside kubelet's tree nothing is touched: INVALID_ARGUMENT, the path is not one this plugin ever publishes at.
        var target = _confinement.Require(targetPath, "target_path", FailureKind.InvalidArgument);
        using (Lock(volumeId))
        {
            await _publisher.UnpublishAsync(volumeId, target, context.CancellationToken).ConfigureAwait(false);
        }
        return new NodeUnpublishVolumeResponse();
    }

    public override async Task<NodeGetVolumeStatsResponse> NodeGetVolumeStats(NodeGetVolumeStatsRequest request, ServerCallContext context)
    {
        var volumeId = RequestValidator.RequireId(request.VolumeId, "volume_id");
        var volumePath = RequestValidator.RequireVolumePath(request.VolumePath, "volume_path");
        if (request.StagingTargetPath.Length > 0)
        {
            RequestValidator.RequirePath(request.StagingTargetPath, "staging_target_path");
        }
        // The spec's NOT_FOUND: no volume with this id lives outside kubelet's tree.
        var path = _confinement.Require(volumePath, "volume_path", FailureKind.NotFound);
        // Read-only and quick, so no per-volume lock: a stats poll must not turn a concurrent stage into ABORTED.
        var stats = await _statsReader.ReadAsync(volumeId, path, context.CancellationToken).ConfigureAwait(false);
        var response = new NodeGetVolumeStatsResponse
        {
            VolumeCondition = new VolumeCondition { Abnormal = stats.Condition.Abnormal, Message = stats.Condition.Message },
        };
        if (stats.Filesystem is { } fs)
        {
            response.Usage.Add(new VolumeUsage { Unit = VolumeUsage.Types.Unit.Bytes, Total = fs.TotalBytes, Available = fs.AvailableBytes, Used = fs.UsedBytes });
            response.Usage.Add(new VolumeUsage { Unit = VolumeUsage.Types.Unit.Inodes, Total = fs.TotalInodes, Available = fs.FreeInodes, Used = fs.UsedInodes });
        }
        if (stats.BlockBytes is { } blockBytes)
        {
            response.Usage.Add(new VolumeUsage { Unit = VolumeUsage.Types.Unit.Bytes, Total = blockBytes });
        }
        return response;
    }

    public override async Task<NodeExpandVolumeResponse> NodeExpandVolume(NodeExpandVolumeRequest request, ServerCallContext context)
    {
        var volumeId = RequestValidator.RequireId(request.VolumeId, "volume_id");
        var volumePath = RequestValidator.RequireVolumePath(request.VolumePath, "volume_path");
        if (request.StagingTargetPath.Length > 0)
        {
            RequestValidator.RequirePath(request.StagingTargetPath, "staging_target_path");
        }
        var isBlock = request.VolumeCapability is not null && CapabilityMapper.Map(request.VolumeCapability, "volume_capability").IsBlock;
        var requiredBytes = request.CapacityRange?.RequiredBytes ?? 0;
        var limitBytes = request.CapacityRange?.LimitBytes ?? 0;
        if (requiredBytes < 0 || limitBytes < 0)
        {
            throw StatusMapping.Invalid("capacity_range must not be negative");
        }
        if (limitBytes > 0 && requiredBytes > limitBytes)
        {
            throw StatusMapping.Invalid($"capacity_range.required_bytes {requiredBytes} exceeds limit_bytes {limitBytes}");
        }
        // The spec's NOT_FOUND: no volume with this id lives outside kubelet's tree.
        var path = _confinement.Require(volumePath, "volume_path", FailureKind.NotFound);
        long capacity;
        using (Lock(volumeId))
        {
            capacity = await _expander.ExpandAsync(volumeId, path, isBlock, requiredBytes, context.CancellationToken).ConfigureAwait(false);
        }
        if (limitBytes > 0 && capacity > limitBytes)
        {
            throw StorageException.OutOfRange($"the device of volume {volumeId} is {capacity} bytes, above capacity_range.limit_bytes {limitBytes}");
        }
        return new NodeExpandVolumeResponse { CapacityBytes = capacity };
    }

    public override Task<NodeGetCapabilitiesResponse> NodeGetCapabilities(NodeGetCapabilitiesRequest request, ServerCallContext context)
    {
        var response = new NodeGetCapabilitiesResponse();
        foreach (var type in new[]
        {
            NodeServiceCapability.Types.RPC.Types.Type.StageUnstageVolume,
            NodeServiceCapability.Types.RPC.Types.Type.ExpandVolume,
            NodeServiceCapability.Types.RPC.Types.Type.GetVolumeStats,
            NodeServiceCapability.Types.RPC.Types.Type.VolumeCondition,
            NodeServiceCapability.Types.RPC.Types.Type.SingleNodeMultiWriter,
        })
        {
            response.Capabilities.Add(new NodeServiceCapability { Rpc = new NodeServiceCapability.Types.RPC { Type = type } });
        }
        return Task.FromResult(response);
    }

    public override async Task<NodeGetInfoResponse> NodeGetInfo(NodeGetInfoRequest request, ServerCallContext context)
    {
        var node = await _identity.GetAsync(context.CancellationToken).ConfigureAwait(false);
        var response = new NodeGetInfoResponse
        {
            NodeId = node.NodeId,
            MaxVolumesPerNode = _options.VolumeAttachLimit > 0 ? _options.VolumeAttachLimit : node.MaxVolumesPerNode,
        };
        if (node.Topology.Count > 0)
        {
            response.AccessibleTopology = new Csi.V1.Topology();
            response.AccessibleTopology.Segments.Add(node.Topology);
        }
        return response;
    }

    /// <summary>One operation per volume at a time; "node/" keeps these apart from controller calls in all-in-one mode.</summary>
    private IDisposable Lock(string volumeId) =>
        _locks.TryAcquire("node/volume/" + volumeId)
        ?? throw StorageException.Aborted($"an operation on volume {volumeId} is already in progress on this node");
}
