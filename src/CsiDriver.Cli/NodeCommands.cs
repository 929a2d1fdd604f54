using System.CommandLine;
using Csi.V1;
using Google.Protobuf.Collections;

namespace CsiDriver.Cli;

public static class NodeCommands
{
    public static Command Build()
    {
        var volumeId = new Argument<string>("volume-id") { Description = "The volume id." };
        var stagingPath = new Option<string>("--staging-path") { Description = "Staging target path (global mount)." };
        var targetPath = new Option<string>("--target-path") { Description = "Target path (per-pod mount)." };
        var volumePath = new Option<string>("--volume-path") { Description = "Path where the volume is published or staged.", Required = true };
        var publishContext = CommonOptions.KeyValues("--publish-context", "publish_context entry from controller publish");
        var volumeContext = CommonOptions.KeyValues("--context", "Volume context entry");
        var readOnly = new Option<bool>("--readonly") { Description = "Publish read-only." };
        var size = new Option<string?>("--size") { Description = "Required capacity, e.g. 2Gi." };
        var block = CommonOptions.Block();
        var fsType = CommonOptions.FsType();
        var mountFlags = CommonOptions.MountFlags();
        var accessMode = CommonOptions.AccessMode();

        VolumeCapability Capability(ParseResult r) => CommonOptions.Capability(
            r.GetValue(block), r.GetValue(fsType)!, r.GetValue(mountFlags) ?? [], r.GetValue(accessMode)!);

        // Stage and publish carry the same two maps, given as repeated KEY=VALUE options.
        void AddContexts(ParseResult r, MapField<string, string> publish, MapField<string, string> volume)
        {
            publish.Add(CommonOptions.Pairs(r.GetValue(publishContext), "--publish-context"));
            volume.Add(CommonOptions.Pairs(r.GetValue(volumeContext), "--context"));
        }

        var stage = new Command("stage", "NodeStageVolume (format if blank + mount).") { volumeId, stagingPath, publishContext, volumeContext, block, fsType, mountFlags, accessMode }
            .WithCall(async (r, ch, o) =>
            {
                var request = new NodeStageVolumeRequest
                {
                    VolumeId = r.GetValue(volumeId)!,
                    StagingTargetPath = r.GetValue(stagingPath) ?? string.Empty,
                    VolumeCapability = Capability(r),
                };
                AddContexts(r, request.PublishContext, request.VolumeContext);
                return await new Node.NodeClient(ch).NodeStageVolumeAsync(request, o);
            });

        var unstage = new Command("unstage", "NodeUnstageVolume.") { volumeId, stagingPath }
            .WithCall(async (r, ch, o) => await new Node.NodeClient(ch).NodeUnstageVolumeAsync(
                new NodeUnstageVolumeRequest { VolumeId = r.GetValue(volumeId)!, StagingTargetPath = r.GetValue(stagingPath) ?? string.Empty }, o));

        var publish = new Command("publish", "NodePublishVolume (bind mount).") { volumeId, stagingPath, targetPath, readOnly, publishContext, volumeContext, block, fsType, mountFlags, accessMode }
            .WithCall(async (r, ch, o) =>
            {
                var request = new NodePublishVolumeRequest
                {
                    VolumeId = r.GetValue(volumeId)!,
                    StagingTargetPath = r.GetValue(stagingPath) ?? string.Empty,
                    TargetPath = r.GetValue(targetPath) ?? string.Empty,
                    Readonly = r.GetValue(readOnly),
                    VolumeCapability = Capability(r),
                };
                AddContexts(r, request.PublishContext, request.VolumeContext);
                return await new Node.NodeClient(ch).NodePublishVolumeAsync(request, o);
            });

        var unpublish = new Command("unpublish", "NodeUnpublishVolume.") { volumeId, targetPath }
            .WithCall(async (r, ch, o) => await new Node.NodeClient(ch).NodeUnpublishVolumeAsync(
                new NodeUnpublishVolumeRequest { VolumeId = r.GetValue(volumeId)!, TargetPath = r.GetValue(targetPath) ?? string.Empty }, o));

        var expand = new Command("expand", "NodeExpandVolume (grow the filesystem).") { volumeId, volumePath, size, stagingPath, block, fsType, accessMode }
            .WithCall(async (r, ch, o) =>
            {
                var request = new NodeExpandVolumeRequest
                {
                    VolumeId = r.GetValue(volumeId)!,
                    VolumePath = r.GetValue(volumePath)!,
                    StagingTargetPath = r.GetValue(stagingPath) ?? string.Empty,
                    VolumeCapability = Capability(r),
                };
                if (r.GetValue(size) is { } s)
                {
                    request.CapacityRange = new CapacityRange { RequiredBytes = CommonOptions.ParseSize(s) };
                }
                return await new Node.NodeClient(ch).NodeExpandVolumeAsync(request, o);
            });

        var stats = new Command("stats", "NodeGetVolumeStats.") { volumeId, volumePath, stagingPath }
            .WithCall(async (r, ch, o) => await new Node.NodeClient(ch).NodeGetVolumeStatsAsync(
                new NodeGetVolumeStatsRequest
                {
                    VolumeId = r.GetValue(volumeId)!,
                    VolumePath = r.GetValue(volumePath)!,
                    StagingTargetPath = r.GetValue(stagingPath) ?? string.Empty,
                }, o));

        var info = new Command("info", "NodeGetInfo.")
            .WithCall(async (_, ch, o) => await new Node.NodeClient(ch).NodeGetInfoAsync(new NodeGetInfoRequest(), o));

        var capabilities = new Command("capabilities", "NodeGetCapabilities.")
            .WithCall(async (_, ch, o) => await new Node.NodeClient(ch).NodeGetCapabilitiesAsync(new NodeGetCapabilitiesRequest(), o));

        return new Command("node", "Node service calls.") { stage, unstage, publish, unpublish, expand, stats, info, capabilities };
    }
}
