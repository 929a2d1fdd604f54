using System.CommandLine;
using Csi.V1;

namespace CsiDriver.Cli;

public static class ControllerCommands
{
    public static Command Build()
    {
        var volumeId = new Argument<string>("volume-id") { Description = "The volume id." };
        var snapshotId = new Argument<string>("snapshot-id") { Description = "The snapshot id." };
        var nodeId = new Option<string>("--node-id") { Description = "The node id.", Required = true };
        var readOnly = new Option<bool>("--readonly") { Description = "Publish read-only." };
        var size = new Option<string?>("--size") { Description = "Capacity, e.g. 1Gi." };
        var name = new Option<string>("--name") { Description = "The CSI name (idempotency key).", Required = true };
        var parameters = CommonOptions.KeyValues("--param", "Parameter");
        var context = CommonOptions.KeyValues("--context", "Volume context entry");
        var secrets = CommonOptions.KeyValues("--secret", "Secret");
        var fromSnapshot = new Option<string?>("--from-snapshot") { Description = "Restore from this snapshot." };
        var fromVolume = new Option<string?>("--from-volume") { Description = "Clone this volume." };
        var zone = new Option<string?>("--zone") { Description = "Required topology zone (topology.kubernetes.io/zone)." };
        var source = new Option<string>("--source-volume") { Description = "Volume to snapshot.", Required = true };
        var maxEntries = new Option<int>("--max-entries") { Description = "Page size; 0 for the driver's default." };
        var startingToken = new Option<string?>("--starting-token") { Description = "Token from the previous page." };
        var block = CommonOptions.Block();
        var fsType = CommonOptions.FsType();
        var mountFlags = CommonOptions.MountFlags();
        var accessMode = CommonOptions.AccessMode();

        VolumeCapability Capability(System.CommandLine.ParseResult r) => CommonOptions.Capability(
            r.GetValue(block), r.GetValue(fsType)!, r.GetValue(mountFlags) ?? [], r.GetValue(accessMode)!);

        var create = new Command("create-volume", "CreateVolume.") { name, size, parameters, secrets, fromSnapshot, fromVolume, zone, block, fsType, mountFlags, accessMode }
            .WithCall(async (r, ch, o) =>
            {
                var request = new CreateVolumeRequest { Name = r.GetValue(name)! };
                if (r.GetValue(size) is { } s)
                {
                    request.CapacityRange = new CapacityRange { RequiredBytes = CommonOptions.ParseSize(s) };
                }
                request.VolumeCapabilities.Add(Capability(r));
                request.Parameters.Add(CommonOptions.Pairs(r.GetValue(parameters), "--param"));
                request.Secrets.Add(CommonOptions.Pairs(r.GetValue(secrets), "--secret"));
                if (r.GetValue(fromSnapshot) is { } snap)
                {
                    request.VolumeContentSource = new VolumeContentSource { Snapshot = new VolumeContentSource.Types.SnapshotSource { SnapshotId = snap } };
                }
                else if (r.GetValue(fromVolume) is { } vol)
                {
                    request.VolumeContentSource = new VolumeContentSource { Volume = new VolumeContentSource.Types.VolumeSource { VolumeId = vol } };
                }
                if (r.GetValue(zone) is { } z)
                {
                    var topology = new Topology();
                    topology.Segments.Add("topology.kubernetes.io/zone", z);
                    request.AccessibilityRequirements = new TopologyRequirement();
                    request.AccessibilityRequirements.Requisite.Add(topology);
                    request.AccessibilityRequirements.Preferred.Add(topology);
                }
                return await new Controller.ControllerClient(ch).CreateVolumeAsync(request, o);
            });

        var delete = new Command("delete-volume", "DeleteVolume.") { volumeId }
            .WithCall(async (r, ch, o) => await new Controller.ControllerClient(ch).DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = r.GetValue(volumeId)! }, o));

        var publish = new Command("publish", "ControllerPublishVolume (attach).") { volumeId, nodeId, readOnly, context, block, fsType, accessMode }
            .WithCall(async (r, ch, o) =>
            {
                var request = new ControllerPublishVolumeRequest
                {
                    VolumeId = r.GetValue(volumeId)!,
                    NodeId = r.GetValue(nodeId)!,
                    Readonly = r.GetValue(readOnly),
                    VolumeCapability = Capability(r),
                };
                request.VolumeContext.Add(CommonOptions.Pairs(r.GetValue(context), "--context"));
                return await new Controller.ControllerClient(ch).ControllerPublishVolumeAsync(request, o);
            });

        var unpublish = new Command("unpublish", "ControllerUnpublishVolume (detach).") { volumeId, nodeId }
            .WithCall(async (r, ch, o) => await new Controller.ControllerClient(ch).ControllerUnpublishVolumeAsync(
                new ControllerUnpublishVolumeRequest { VolumeId = r.GetValue(volumeId)!, NodeId = r.GetValue(nodeId)! }, o));

        var validate = new Command("validate", "ValidateVolumeCapabilities.") { volumeId, block, fsType, mountFlags, accessMode }
            .WithCall(async (r, ch, o) =>
            {
                var request = new ValidateVolumeCapabilitiesRequest { VolumeId = r.GetValue(volumeId)! };
                request.VolumeCapabilities.Add(Capability(r));
                return await new Controller.ControllerClient(ch).ValidateVolumeCapabilitiesAsync(request, o);
            });

        var list = new Command("list-volumes", "ListVolumes.") { maxEntries, startingToken }
            .WithCall(async (r, ch, o) => await new Controller.ControllerClient(ch).ListVolumesAsync(
                new ListVolumesRequest { MaxEntries = r.GetValue(maxEntries), StartingToken = r.GetValue(startingToken) ?? string.Empty }, o));

        var get = new Command("get-volume", "ControllerGetVolume.") { volumeId }
            .WithCall(async (r, ch, o) => await new Controller.ControllerClient(ch).ControllerGetVolumeAsync(
                new ControllerGetVolumeRequest { VolumeId = r.GetValue(volumeId)! }, o));

        var expand = new Command("expand", "ControllerExpandVolume.") { volumeId, size, block, fsType, accessMode }
            .WithCall(async (r, ch, o) => await new Controller.ControllerClient(ch).ControllerExpandVolumeAsync(
                new ControllerExpandVolumeRequest
                {
                    VolumeId = r.GetValue(volumeId)!,
                    CapacityRange = new CapacityRange { RequiredBytes = CommonOptions.ParseSize(r.GetValue(size) ?? throw new ArgumentException("--size is required")) },
                    VolumeCapability = Capability(r),
                }, o));

        var modify = new Command("modify-volume", "ControllerModifyVolume.") { volumeId, parameters }
            .WithCall(async (r, ch, o) =>
            {
                var request = new ControllerModifyVolumeRequest { VolumeId = r.GetValue(volumeId)! };
                request.MutableParameters.Add(CommonOptions.Pairs(r.GetValue(parameters), "--param"));
                return await new Controller.ControllerClient(ch).ControllerModifyVolumeAsync(request, o);
            });

        var createSnapshot = new Command("create-snapshot", "CreateSnapshot.") { name, source, parameters }
            .WithCall(async (r, ch, o) =>
            {
                var request = new CreateSnapshotRequest { Name = r.GetValue(name)!, SourceVolumeId = r.GetValue(source)! };
                request.Parameters.Add(CommonOptions.Pairs(r.GetValue(parameters), "--param"));
                return await new Controller.ControllerClient(ch).CreateSnapshotAsync(request, o);
            });

        var deleteSnapshot = new Command("delete-snapshot", "DeleteSnapshot.") { snapshotId }
            .WithCall(async (r, ch, o) => await new Controller.ControllerClient(ch).DeleteSnapshotAsync(
                new DeleteSnapshotRequest { SnapshotId = r.GetValue(snapshotId)! }, o));

        var listSnapshots = new Command("list-snapshots", "ListSnapshots.") { maxEntries, startingToken }
            .WithCall(async (r, ch, o) => await new Controller.ControllerClient(ch).ListSnapshotsAsync(
                new ListSnapshotsRequest { MaxEntries = r.GetValue(maxEntries), StartingToken = r.GetValue(startingToken) ?? string.Empty }, o));

        var capabilities = new Command("capabilities", "ControllerGetCapabilities.")
            .WithCall(async (_, ch, o) => await new Controller.ControllerClient(ch).ControllerGetCapabilitiesAsync(new ControllerGetCapabilitiesRequest(), o));

        return new Command("controller", "Controller service calls.")
        {
            create, delete, publish, unpublish, validate, list, get, expand, modify, createSnapshot, deleteSnapshot, listSnapshots, capabilities,
        };
    }
}
