using System.Security.Cryptography;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using CsiDriver.Driver.Tests.Node.Support;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Filesystems;
using CsiDriver.Mounter.Mounts;
using CsiDriver.Testing;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using static CsiDriver.Driver.Tests.Node.Support.NodeRequests;

namespace CsiDriver.Driver.Tests.Node;

/// <summary>
/// A kill -9 while mkfs writes leaves a device with no complete signature but non-zero blocks, which the format guard
/// reads as someone's data. The node's format intent (recorded before mkfs) lets the retry format its own half-written
/// device again, and only that. The interruption is made deterministic: the first mkfs runs for real, then its
/// superblock is zeroed (as when mkfs is killed before writing it) and the call fails as the dead process would, with
/// the intent left in the record; the retry is the CO's.
/// </summary>
public sealed class InterruptedFormatTests
{
    private const long Size = 512 * LoopDevice.MiB;
    private static readonly ProcMountTable Mounts = new(new PathInspector());

    [Theory]
    [InlineData("ext4", false)]
    [InlineData("xfs", false)]
    [InlineData("xfs", true)]
    public async Task A_retry_formats_again_a_device_whose_format_by_this_node_was_interrupted(string fsType, bool xfsSignatureInProgress)
    {
        var formatter = new InterruptedOnceFormatter(xfsSignatureInProgress);
        await using var node = await NodeUnderTest.StartAsync("fmt-intent", configureServices: (_, services) =>
            services.AddSingleton<IFormatter>(sp => formatter.Wrapping(ActivatorUtilities.CreateInstance<Formatter>(sp))));
        var loop = LoopDevice.Create(node.Dir, Size);
        var staging = Directory.CreateDirectory(node.Dir.Path("staging")).FullName;

        var crash = await Assert.ThrowsAsync<RpcException>(() => node.Node.NodeStageVolumeAsync(Stage("vol-1", loop.Device, staging, Mount(fsType))).ResponseAsync);
        Assert.Contains(InterruptedOnceFormatter.Crash, crash.Status.Detail, StringComparison.Ordinal);
        if (xfsSignatureInProgress)
        {
            Assert.Contains("TYPE=xfs", Shell.Run("blkid", "-p", "-o", "export", "--", loop.Device), StringComparison.Ordinal);
        }
        else
        {
            AssertHalfFormatted(loop.Device);
        }

        // Another fs type than the one whose format was interrupted: refused, saying which to ask for, nothing written.
        var otherType = fsType == "xfs" ? "ext4" : "xfs";
        var before = Hash(loop.Device);
        var changed = await Assert.ThrowsAsync<RpcException>(() => node.Node.NodeStageVolumeAsync(Stage("vol-1", loop.Device, staging, Mount(otherType))).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, changed.StatusCode);
        Assert.Contains($"stage it with fs_type {fsType}", changed.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, Hash(loop.Device));

        await node.Node.NodeStageVolumeAsync(Stage("vol-1", loop.Device, staging, Mount(fsType)));

        Assert.Equal(fsType, Mounts.FindByMountPoint(staging)?.FsType);
        await File.WriteAllTextAsync(Path.Combine(staging, "after-retry.txt"), "usable");
        await node.Node.NodeUnstageVolumeAsync(Unstage("vol-1", staging));
        // Formatted once it completed: a later stage mounts it as it is.
        await node.Node.NodeStageVolumeAsync(Stage("vol-1", loop.Device, staging, Mount(fsType)));
        Assert.Equal("usable", await File.ReadAllTextAsync(Path.Combine(staging, "after-retry.txt")));
        await node.Node.NodeUnstageVolumeAsync(Unstage("vol-1", staging));
        Assert.Equal(1, formatter.Interrupted);
    }

    [Theory]
    [InlineData("ext4")]
    [InlineData("xfs")]
    public async Task The_same_half_formatted_device_without_this_nodes_format_intent_is_refused_and_left_unchanged(string fsType)
    {
        await using var volume = await NodeTestVolume.StartAsync("fmt-no-intent", Size);
        InterruptedOnceFormatter.HalfFormat(volume.Loop.Device, fsType);
        AssertHalfFormatted(volume.Loop.Device);
        var before = Hash(volume.Loop.Device);

        foreach (var requested in new[] { fsType, "ext4", "xfs", string.Empty })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => volume.StageAsync("vol-1", Mount(requested)));
            Assert.Equal(StatusCode.FailedPrecondition, refused.StatusCode);
            Assert.Contains("without a known signature", refused.Status.Detail, StringComparison.Ordinal);
        }

        Assert.Equal(before, Hash(volume.Loop.Device));
        Assert.Null(Mounts.FindByMountPoint(volume.Staging));
    }

    [Fact]
    public async Task An_unfinished_xfs_without_this_nodes_format_intent_is_not_formatted()
    {
        await using var volume = await NodeTestVolume.StartAsync("fmt-no-intent", Size);
        InterruptedOnceFormatter.HalfFormatXfsInProgress(volume.Loop.Device);
        var before = Hash(volume.Loop.Device);

        await Assert.ThrowsAsync<RpcException>(() => volume.StageAsync("vol-1", Mount("xfs")));

        Assert.Equal(before, Hash(volume.Loop.Device));
        Assert.Null(Mounts.FindByMountPoint(volume.Staging));
    }

    /// <summary>No signature blkid knows (exit 2), yet written: what the format guard must not take for blank.</summary>
    private static void AssertHalfFormatted(string device)
    {
        Assert.Equal(2, Shell.TryRun("blkid", "-p", "-o", "export", "--", device).ExitCode);
        Assert.Contains(RawBytes.ReadAt(device, 0, 1 << 20), b => b != 0);
    }

    private static string Hash(string device)
    {
        using var stream = File.OpenRead(device);
        return Convert.ToHexString(SHA256.HashData(stream));
    }

    /// <summary>
    /// The first format runs a real mkfs, zeroes its superblock and fails as a killed driver would (the node's record
    /// still holds the intent); every later call goes to the real formatter.
    /// </summary>
    private sealed class InterruptedOnceFormatter(bool xfsSignatureInProgress = false) : IFormatter
    {
        public const string Crash = "simulated kill -9 during mkfs";

        private IFormatter? _real;

        public int Interrupted { get; private set; }

        public IFormatter Wrapping(IFormatter real)
        {
            _real = real;
            return this;
        }

        public Task FormatAsync(string device, string fsType, FormatOptions options, CancellationToken cancellationToken)
        {
            if (Interrupted > 0)
            {
                return _real!.FormatAsync(device, fsType, options, cancellationToken);
            }
            Interrupted++;
            if (xfsSignatureInProgress)
            {
                HalfFormatXfsInProgress(device);
            }
            else
            {
                HalfFormat(device, fsType);
            }
            throw StorageException.Internal(Crash);
        }

        public Task FormatInterruptedAsync(string device, string fsType, FormatOptions options, CancellationToken cancellationToken) =>
            _real!.FormatInterruptedAsync(device, fsType, options, cancellationToken);

        public Task<bool> IsUnfinishedAsync(string device, string fsType, CancellationToken cancellationToken) =>
            _real!.IsUnfinishedAsync(device, fsType, cancellationToken);

        /// <summary>
        /// mkfs.xfs killed after writing its superblock (sb_inprogress set) and before clearing that flag at its end:
        /// blkid reports xfs, mount refuses it.
        /// </summary>
        public static void HalfFormatXfsInProgress(string device)
        {
            Shell.Run("mkfs.xfs", "-q", device);
            Shell.Run("xfs_db", "-x", "-c", "sb 0", "-c", "write inprogress 1", "--", device);
        }

        /// <summary>
        /// A real mkfs, then its first 4 KiB zeroed: the ext superblock (at 1 KiB, which mke2fs writes last) or the
        /// xfs superblock and AG headers are gone, the rest of what mkfs wrote is still there.
        /// </summary>
        public static void HalfFormat(string device, string fsType)
        {
            Shell.Run("mkfs." + fsType, "-q", device);
            RawBytes.WriteAt(device, 0, new byte[4096]);
        }
    }
}
