using Csi.V1;
using CsiDriver.Driver.Tests.Node.Support;
using CsiDriver.Testing;
using Grpc.Core;
using static CsiDriver.Driver.Tests.Node.Support.NodeRequests;
using Row = CsiDriver.Testing.RefusedCall<Csi.V1.Node.NodeClient>;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace CsiDriver.Driver.Tests.Node;

/// <summary>Every Node RPC refuses bad requests with the spec's status code and a message naming the problem.</summary>
public sealed class NodeBadRequestTests
{
    [Fact]
    public async Task Each_bad_request_gets_its_status_code()
    {
        // A real, blank device for the cases that get as far as looking at one; none of them may touch it.
        await using var volume = await NodeTestVolume.StartAsync("bad", 64 * LoopDevice.MiB);
        var (dir, _, driver, loop, staging, target) = volume;
        var dev = loop.Device;
        var plainDir = Directory.CreateDirectory(dir.Path("plain")).FullName;
        var missing = dir.Path("missing");
        var ext4 = Mount("ext4");

        RefusedCallTable<Csi.V1.Node.NodeClient> cases = new()
        {
            ["stage without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id",
                n => n.NodeStageVolumeAsync(Stage("", dev, staging, ext4))),
            ["stage with a control character in volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id",
                n => n.NodeStageVolumeAsync(Stage("vol\u0001", dev, staging, ext4))),
            ["stage without staging_target_path"] = Row.Of(StatusCode.InvalidArgument, "staging_target_path",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, "", ext4))),
            ["stage with a relative staging_target_path"] = Row.Of(StatusCode.InvalidArgument, "staging_target_path",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, "relative/path", ext4))),
            ["stage with .. in staging_target_path"] = Row.Of(StatusCode.InvalidArgument, "staging_target_path",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging + "/../x", ext4))),
            ["stage without volume_capability"] = Row.Of(StatusCode.InvalidArgument, "volume_capability",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging, null!))),
            ["stage without access mode"] = Row.Of(StatusCode.InvalidArgument, "access_mode",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging, new VolumeCapability { Mount = new VolumeCapability.Types.MountVolume() }))),
            ["stage without access type"] = Row.Of(StatusCode.InvalidArgument, "access_type",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging, new VolumeCapability { AccessMode = new VolumeCapability.Types.AccessMode { Mode = Mode.SingleNodeWriter } }))),
            ["stage with an unsupported fs_type"] = Row.Of(StatusCode.InvalidArgument, "fs_type",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging, Mount("ntfs")))),
            ["stage a filesystem for several writers"] = Row.Of(StatusCode.InvalidArgument, "volume_capability",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging, Mount("ext4", Mode.MultiNodeMultiWriter)))),
            ["stage with a bad format option"] = Row.Of(StatusCode.InvalidArgument, "blockSize",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging, ext4, new Dictionary<string, string> { ["blockSize"] = "3000" }))),
            ["stage with an ext4-only option on xfs"] = Row.Of(StatusCode.InvalidArgument, "bytesPerInode",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging, Mount("xfs"), new Dictionary<string, string> { ["bytesPerInode"] = "4096" }))),
            ["stage a volume that is not attached"] = Row.Of(StatusCode.NotFound, "not attached",
                n => n.NodeStageVolumeAsync(Stage("vol", missing, staging, ext4))),
            ["stage onto a staging path that is a file"] = Row.Of(StatusCode.FailedPrecondition, "not a directory",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, loop.BackingFile, ext4))),

            ["unstage without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id",
                n => n.NodeUnstageVolumeAsync(Unstage("", staging))),
            ["unstage without staging_target_path"] = Row.Of(StatusCode.InvalidArgument, "staging_target_path",
                n => n.NodeUnstageVolumeAsync(Unstage("vol", ""))),

            ["publish without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id",
                n => n.NodePublishVolumeAsync(Publish("", dev, staging, target, ext4))),
            ["publish without target_path"] = Row.Of(StatusCode.InvalidArgument, "target_path",
                n => n.NodePublishVolumeAsync(Publish("vol", dev, staging, "", ext4))),
            ["publish with a relative target_path"] = Row.Of(StatusCode.InvalidArgument, "target_path",
                n => n.NodePublishVolumeAsync(Publish("vol", dev, staging, "pods/x", ext4))),
            ["publish without volume_capability"] = Row.Of(StatusCode.InvalidArgument, "volume_capability",
                n => n.NodePublishVolumeAsync(Publish("vol", dev, staging, target, null!))),
            ["publish without staging_target_path"] = Row.Of(StatusCode.FailedPrecondition, "staging_target_path",
                n => n.NodePublishVolumeAsync(Publish("vol", dev, "", target, ext4))),
            ["publish a volume that is not attached"] = Row.Of(StatusCode.NotFound, "not attached",
                n => n.NodePublishVolumeAsync(Publish("vol", missing, staging, target, ext4))),
            ["publish a volume that is not staged"] = Row.Of(StatusCode.FailedPrecondition, "not staged",
                n => n.NodePublishVolumeAsync(Publish("vol", dev, staging, target, ext4))),
            ["publish a block volume onto a directory"] = Row.Of(StatusCode.FailedPrecondition, "not a regular file",
                n => n.NodePublishVolumeAsync(Publish("vol", dev, staging, plainDir, Block()))),

            ["unpublish without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id",
                n => n.NodeUnpublishVolumeAsync(Unpublish("", target))),
            ["unpublish without target_path"] = Row.Of(StatusCode.InvalidArgument, "target_path",
                n => n.NodeUnpublishVolumeAsync(Unpublish("vol", ""))),

            ["stats without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id",
                n => n.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumePath = plainDir })),
            ["stats without volume_path"] = Row.Of(StatusCode.InvalidArgument, "volume_path",
                n => n.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "vol" })),
            ["stats with a relative staging_target_path"] = Row.Of(StatusCode.InvalidArgument, "staging_target_path",
                n => n.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "vol", VolumePath = plainDir, StagingTargetPath = "x" })),
            ["stats of a path that does not exist"] = Row.Of(StatusCode.NotFound, "does not exist",
                n => n.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "vol", VolumePath = missing })),

            ["stats of a relative volume_path"] = Row.Of(StatusCode.NotFound, "some/path",
                n => n.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "vol", VolumePath = "some/path" })),

            ["expand without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumePath = plainDir })),
            ["expand without volume_path"] = Row.Of(StatusCode.InvalidArgument, "volume_path",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol" })),
            ["expand with a malformed capability"] = Row.Of(StatusCode.InvalidArgument, "access_mode",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol", VolumePath = plainDir, VolumeCapability = new VolumeCapability { Block = new VolumeCapability.Types.BlockVolume() } })),
            ["expand with a negative size"] = Row.Of(StatusCode.InvalidArgument, "capacity_range",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol", VolumePath = plainDir, CapacityRange = new CapacityRange { RequiredBytes = -1 } })),
            ["expand with required above limit"] = Row.Of(StatusCode.InvalidArgument, "limit_bytes",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol", VolumePath = plainDir, CapacityRange = new CapacityRange { RequiredBytes = 2, LimitBytes = 1 } })),
            ["expand a path that does not exist"] = Row.Of(StatusCode.NotFound, "does not exist",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol", VolumePath = missing })),
            ["expand a relative volume_path"] = Row.Of(StatusCode.NotFound, "some/path",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol", VolumePath = "some/path" })),
            ["expand a directory that is not mounted"] = Row.Of(StatusCode.NotFound, "not mounted",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol", VolumePath = plainDir })),
            ["expand a block volume at a path that is no device"] = Row.Of(StatusCode.NotFound, "block volume",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol", VolumePath = plainDir, VolumeCapability = Block() })),
        };

        await cases.AssertAllRefusedAsync(driver.Node);
        // None of them formatted, mounted or created anything.
        Assert.Equal(2, Shell.TryRun("blkid", "-p", loop.Device).ExitCode);
        Assert.Empty(TestDirectory.MountPointsBelow(dir.Root + "/"));
        Assert.False(Path.Exists(target));
    }
}
