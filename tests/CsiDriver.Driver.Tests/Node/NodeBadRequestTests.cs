using Csi.V1;
using CsiDriver.Driver.Tests.Node.Support;
using CsiDriver.Testing;
using Grpc.Core;
using static CsiDriver.Driver.Tests.Node.Support.NodeRequests;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace CsiDriver.Driver.Tests.Node;

/// <summary>Every Node RPC refuses bad requests with the spec's status code and a message naming the problem.</summary>
public sealed class NodeBadRequestTests
{
    private sealed record Case(string Name, StatusCode Expected, string MessagePart, Func<Csi.V1.Node.NodeClient, Task> Call);

    [Fact]
    public async Task Each_bad_request_gets_its_status_code()
    {
        using var dir = new TestDirectory("bad");
        await using var driver = await NodeTestDriver.StartAsync(dir, new TestDeviceFinder());
        // A real, blank device for the cases that get as far as looking at one; none of them may touch it.
        var loop = LoopDevice.Create(dir, 64 * LoopDevice.MiB);
        var dev = loop.Device;
        var staging = Directory.CreateDirectory(dir.Path("staging")).FullName;
        var plainDir = Directory.CreateDirectory(dir.Path("plain")).FullName;
        var target = dir.Path("target");
        var missing = dir.Path("missing");
        var ext4 = Mount("ext4");

        Case[] cases =
        [
            new("stage without volume_id", StatusCode.InvalidArgument, "volume_id",
                n => n.NodeStageVolumeAsync(Stage("", dev, staging, ext4)).ResponseAsync),
            new("stage with a control character in volume_id", StatusCode.InvalidArgument, "volume_id",
                n => n.NodeStageVolumeAsync(Stage("vol\u0001", dev, staging, ext4)).ResponseAsync),
            new("stage without staging_target_path", StatusCode.InvalidArgument, "staging_target_path",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, "", ext4)).ResponseAsync),
            new("stage with a relative staging_target_path", StatusCode.InvalidArgument, "staging_target_path",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, "relative/path", ext4)).ResponseAsync),
            new("stage with .. in staging_target_path", StatusCode.InvalidArgument, "staging_target_path",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging + "/../x", ext4)).ResponseAsync),
            new("stage without volume_capability", StatusCode.InvalidArgument, "volume_capability",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging, null!)).ResponseAsync),
            new("stage without access mode", StatusCode.InvalidArgument, "access_mode",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging, new VolumeCapability { Mount = new VolumeCapability.Types.MountVolume() })).ResponseAsync),
            new("stage without access type", StatusCode.InvalidArgument, "access_type",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging, new VolumeCapability { AccessMode = new VolumeCapability.Types.AccessMode { Mode = Mode.SingleNodeWriter } })).ResponseAsync),
            new("stage with an unsupported fs_type", StatusCode.InvalidArgument, "fs_type",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging, Mount("ntfs"))).ResponseAsync),
            new("stage a filesystem for several writers", StatusCode.InvalidArgument, "volume_capability",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging, Mount("ext4", Mode.MultiNodeMultiWriter))).ResponseAsync),
            new("stage with a bad format option", StatusCode.InvalidArgument, "blockSize",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging, ext4, new Dictionary<string, string> { ["blockSize"] = "3000" })).ResponseAsync),
            new("stage with an ext4-only option on xfs", StatusCode.InvalidArgument, "bytesPerInode",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, staging, Mount("xfs"), new Dictionary<string, string> { ["bytesPerInode"] = "4096" })).ResponseAsync),
            new("stage a volume that is not attached", StatusCode.NotFound, "not attached",
                n => n.NodeStageVolumeAsync(Stage("vol", missing, staging, ext4)).ResponseAsync),
            new("stage onto a staging path that is a file", StatusCode.FailedPrecondition, "not a directory",
                n => n.NodeStageVolumeAsync(Stage("vol", dev, loop.BackingFile, ext4)).ResponseAsync),

            new("unstage without volume_id", StatusCode.InvalidArgument, "volume_id",
                n => n.NodeUnstageVolumeAsync(Unstage("", staging)).ResponseAsync),
            new("unstage without staging_target_path", StatusCode.InvalidArgument, "staging_target_path",
                n => n.NodeUnstageVolumeAsync(Unstage("vol", "")).ResponseAsync),

            new("publish without volume_id", StatusCode.InvalidArgument, "volume_id",
                n => n.NodePublishVolumeAsync(Publish("", dev, staging, target, ext4)).ResponseAsync),
            new("publish without target_path", StatusCode.InvalidArgument, "target_path",
                n => n.NodePublishVolumeAsync(Publish("vol", dev, staging, "", ext4)).ResponseAsync),
            new("publish with a relative target_path", StatusCode.InvalidArgument, "target_path",
                n => n.NodePublishVolumeAsync(Publish("vol", dev, staging, "pods/x", ext4)).ResponseAsync),
            new("publish without volume_capability", StatusCode.InvalidArgument, "volume_capability",
                n => n.NodePublishVolumeAsync(Publish("vol", dev, staging, target, null!)).ResponseAsync),
            new("publish without staging_target_path", StatusCode.FailedPrecondition, "staging_target_path",
                n => n.NodePublishVolumeAsync(Publish("vol", dev, "", target, ext4)).ResponseAsync),
            new("publish a volume that is not attached", StatusCode.NotFound, "not attached",
                n => n.NodePublishVolumeAsync(Publish("vol", missing, staging, target, ext4)).ResponseAsync),
            new("publish a volume that is not staged", StatusCode.FailedPrecondition, "not staged",
                n => n.NodePublishVolumeAsync(Publish("vol", dev, staging, target, ext4)).ResponseAsync),
            new("publish a block volume onto a directory", StatusCode.FailedPrecondition, "not a regular file",
                n => n.NodePublishVolumeAsync(Publish("vol", dev, staging, plainDir, Block())).ResponseAsync),

            new("unpublish without volume_id", StatusCode.InvalidArgument, "volume_id",
                n => n.NodeUnpublishVolumeAsync(Unpublish("", target)).ResponseAsync),
            new("unpublish without target_path", StatusCode.InvalidArgument, "target_path",
                n => n.NodeUnpublishVolumeAsync(Unpublish("vol", "")).ResponseAsync),

            new("stats without volume_id", StatusCode.InvalidArgument, "volume_id",
                n => n.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumePath = plainDir }).ResponseAsync),
            new("stats without volume_path", StatusCode.InvalidArgument, "volume_path",
                n => n.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "vol" }).ResponseAsync),
            new("stats with a relative staging_target_path", StatusCode.InvalidArgument, "staging_target_path",
                n => n.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "vol", VolumePath = plainDir, StagingTargetPath = "x" }).ResponseAsync),
            new("stats of a path that does not exist", StatusCode.NotFound, "does not exist",
                n => n.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "vol", VolumePath = missing }).ResponseAsync),

            new("stats of a relative volume_path", StatusCode.NotFound, "some/path",
                n => n.NodeGetVolumeStatsAsync(new NodeGetVolumeStatsRequest { VolumeId = "vol", VolumePath = "some/path" }).ResponseAsync),

            new("expand without volume_id", StatusCode.InvalidArgument, "volume_id",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumePath = plainDir }).ResponseAsync),
            new("expand without volume_path", StatusCode.InvalidArgument, "volume_path",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol" }).ResponseAsync),
            new("expand with a malformed capability", StatusCode.InvalidArgument, "access_mode",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol", VolumePath = plainDir, VolumeCapability = new VolumeCapability { Block = new VolumeCapability.Types.BlockVolume() } }).ResponseAsync),
            new("expand with a negative size", StatusCode.InvalidArgument, "capacity_range",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol", VolumePath = plainDir, CapacityRange = new CapacityRange { RequiredBytes = -1 } }).ResponseAsync),
            new("expand with required above limit", StatusCode.InvalidArgument, "limit_bytes",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol", VolumePath = plainDir, CapacityRange = new CapacityRange { RequiredBytes = 2, LimitBytes = 1 } }).ResponseAsync),
            new("expand a path that does not exist", StatusCode.NotFound, "does not exist",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol", VolumePath = missing }).ResponseAsync),
            new("expand a relative volume_path", StatusCode.NotFound, "some/path",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol", VolumePath = "some/path" }).ResponseAsync),
            new("expand a directory that is not mounted", StatusCode.NotFound, "not mounted",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol", VolumePath = plainDir }).ResponseAsync),
            new("expand a block volume at a path that is no device", StatusCode.NotFound, "block volume",
                n => n.NodeExpandVolumeAsync(new NodeExpandVolumeRequest { VolumeId = "vol", VolumePath = plainDir, VolumeCapability = Block() }).ResponseAsync),
        ];

        var mismatches = new List<string>();
        foreach (var c in cases)
        {
            try
            {
                await c.Call(driver.Node);
                mismatches.Add($"{c.Name}: succeeded, expected {c.Expected}");
            }
            catch (RpcException ex) when (ex.StatusCode != c.Expected || !ex.Status.Detail.Contains(c.MessagePart, StringComparison.Ordinal))
            {
                mismatches.Add($"{c.Name}: got {ex.StatusCode} '{ex.Status.Detail}', expected {c.Expected} mentioning '{c.MessagePart}'");
            }
            catch (RpcException)
            {
            }
        }

        Assert.True(mismatches.Count == 0, string.Join(Environment.NewLine, mismatches));
        // None of them formatted, mounted or created anything.
        Assert.Equal(2, Shell.TryRun("blkid", "-p", loop.Device).ExitCode);
        Assert.Empty(TestDirectory.MountPointsBelow(dir.Root + "/"));
        Assert.False(Path.Exists(target));
    }
}
