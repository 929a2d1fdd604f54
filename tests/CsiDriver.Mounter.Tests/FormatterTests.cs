using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using CsiDriver.Mounter.Filesystems;
using CsiDriver.Mounter.Tests.Support;
using CsiDriver.Testing;

namespace CsiDriver.Mounter.Tests;

public sealed class FormatterTests
{
    private const long Size = 512 * LoopDevice.MiB;
    private readonly NodeOs _os = new();

    [Fact]
    public async Task A_sparse_device_probes_blank()
    {
        using var dir = new TestDirectory("probe");
        var loop = LoopDevice.Create(dir, 64 * LoopDevice.MiB);

        var content = await _os.Probe.ProbeAsync(loop.Device, CancellationToken.None);

        Assert.Equal(DeviceContentKind.Blank, content.Kind);
    }

    [Theory]
    [InlineData("ext4")]
    [InlineData("xfs")]
    public async Task Formatting_a_device_that_holds_a_filesystem_is_refused_and_leaves_it_intact(string existing)
    {
        using var dir = new TestDirectory("refuse");
        var loop = LoopDevice.Create(dir, Size);
        Shell.Run("mkfs." + existing, "-q", loop.Device);
        var uuidBefore = Shell.Run("blkid", "-p", "-s", "UUID", "-o", "value", loop.Device).Trim();

        foreach (var fsType in new[] { "ext4", "ext3", "xfs" })
        {
            var error = await Assert.ThrowsAsync<StorageException>(
                () => _os.Formatter.FormatAsync(loop.Device, fsType, FormatOptions.None, CancellationToken.None));
            Assert.Equal(FailureKind.FailedPrecondition, error.Kind);
            Assert.Contains($"a {existing} filesystem", error.Message, StringComparison.Ordinal);
        }

        Assert.Equal(uuidBefore, Shell.Run("blkid", "-p", "-s", "UUID", "-o", "value", loop.Device).Trim());
    }

    [Fact]
    public async Task Formatting_a_device_with_only_a_partition_table_is_refused()
    {
        using var dir = new TestDirectory("refuse");
        var loop = LoopDevice.Create(dir, 64 * LoopDevice.MiB);
        RawBytes.WriteMbrPartitionTable(loop.Device);

        var content = await _os.Probe.ProbeAsync(loop.Device, CancellationToken.None);
        var error = await Assert.ThrowsAsync<StorageException>(
            () => _os.Formatter.FormatAsync(loop.Device, "ext4", FormatOptions.None, CancellationToken.None));

        Assert.Equal(DeviceContentKind.PartitionTable, content.Kind);
        Assert.Equal("dos", content.Type);
        Assert.Equal(FailureKind.FailedPrecondition, error.Kind);
        Assert.DoesNotContain("TYPE=", Shell.Run("blkid", "-p", "-o", "export", loop.Device).Replace("PTTYPE=", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(4096L)]
    [InlineData(-4096L)]
    public async Task Formatting_a_device_with_raw_data_but_no_signature_is_refused(long offsetFromEdge)
    {
        using var dir = new TestDirectory("refuse");
        var size = 64 * LoopDevice.MiB;
        var loop = LoopDevice.Create(dir, size);
        // What a database writing to a raw block volume leaves behind: bytes, no signature.
        var offset = offsetFromEdge >= 0 ? offsetFromEdge : size + offsetFromEdge;
        RawBytes.WriteAt(loop.Device, offset, [0x13, 0x37, 0xC0, 0xDE]);

        var content = await _os.Probe.ProbeAsync(loop.Device, CancellationToken.None);
        var error = await Assert.ThrowsAsync<StorageException>(
            () => _os.Formatter.FormatAsync(loop.Device, "xfs", FormatOptions.None, CancellationToken.None));

        Assert.Equal(DeviceContentKind.UnidentifiedData, content.Kind);
        Assert.Equal(FailureKind.FailedPrecondition, error.Kind);
    }

    [Fact]
    public async Task Ext4_format_options_reach_the_filesystem()
    {
        using var dir = new TestDirectory("mkfs");
        var loop = LoopDevice.Create(dir, Size);
        var options = FormatOptions.Parse(new Dictionary<string, string>
        {
            ["blockSize"] = "2048",
            ["inodeSize"] = "512",
            ["numberOfInodes"] = "40000",
        }, "ext4");

        await _os.Formatter.FormatAsync(loop.Device, "ext4", options, CancellationToken.None);

        var header = DumpE2fs(loop.Device);
        Assert.Equal("2048", header["Block size"]);
        Assert.Equal("512", header["Inode size"]);
        // mke2fs rounds the inode count to whole inode-table blocks per group.
        var inodes = long.Parse(header["Inode count"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(inodes, 39000, 48000);
        Assert.Equal("0", header["Reserved block count"]);
        Assert.Equal("ext4", (await _os.Probe.ProbeAsync(loop.Device, CancellationToken.None)).Type);
    }

    [Fact]
    public async Task Ext4_bytes_per_inode_and_bigalloc_reach_the_filesystem()
    {
        using var dir = new TestDirectory("mkfs");
        var loop = LoopDevice.Create(dir, Size);
        var options = FormatOptions.Parse(new Dictionary<string, string>
        {
            ["bytesPerInode"] = "65536",
            ["ext4BigAlloc"] = "true",
            ["ext4ClusterSize"] = "65536",
        }, "ext4");

        await _os.Formatter.FormatAsync(loop.Device, "ext4", options, CancellationToken.None);

        var header = DumpE2fs(loop.Device);
        Assert.Contains("bigalloc", header["Filesystem features"], StringComparison.Ordinal);
        Assert.Equal("65536", header["Cluster size"]);
        var inodes = long.Parse(header["Inode count"], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(inodes, Size / 65536 - 512, Size / 65536 + 512);
    }

    [Fact]
    public async Task Ext3_is_created_without_the_ext4_only_features()
    {
        using var dir = new TestDirectory("mkfs");
        var loop = LoopDevice.Create(dir, 128 * LoopDevice.MiB);

        await _os.Formatter.FormatAsync(loop.Device, "ext3", FormatOptions.Parse(new Dictionary<string, string> { ["blockSize"] = "1024" }, "ext3"), CancellationToken.None);

        var header = DumpE2fs(loop.Device);
        Assert.Equal("ext3", (await _os.Probe.ProbeAsync(loop.Device, CancellationToken.None)).Type);
        Assert.Equal("1024", header["Block size"]);
        Assert.DoesNotContain("extent", header["Filesystem features"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Xfs_format_options_reach_the_filesystem()
    {
        using var dir = new TestDirectory("mkfs");
        var loop = LoopDevice.Create(dir, Size);
        var options = FormatOptions.Parse(new Dictionary<string, string> { ["blockSize"] = "2048", ["inodeSize"] = "1024" }, "xfs");

        await _os.Formatter.FormatAsync(loop.Device, "xfs", options, CancellationToken.None);

        var info = Shell.Run("xfs_info", loop.Device);
        Assert.Matches(@"isize=1024\b", info);
        Assert.Matches(@"data\s+=\s+bsize=2048\b", info);
        Assert.Equal("xfs", (await _os.Probe.ProbeAsync(loop.Device, CancellationToken.None)).Type);
    }

    [Fact]
    public void Mkfs_command_lines_are_argument_lists_ending_with_the_device()
    {
        var (ext, extArgs) = Formatter.MkfsCommand("/dev/x", "ext4", new FormatOptions(BlockSize: 4096, InodeSize: 256, BytesPerInode: 16384, NumberOfInodes: 100, Ext4BigAlloc: true, Ext4ClusterSize: 16384));
        var (xfs, xfsArgs) = Formatter.MkfsCommand("/dev/x", "xfs", new FormatOptions(BlockSize: 4096, InodeSize: 512));

        Assert.Equal("mkfs.ext4", ext);
        Assert.Equal(["-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1", "-b", "4096", "-I", "256", "-i", "16384", "-N", "100", "-O", "bigalloc", "-C", "16384", "--", "/dev/x"], extArgs);
        Assert.Equal("mkfs.xfs", xfs);
        Assert.Equal(["-b", "size=4096", "-i", "size=512", "--", "/dev/x"], xfsArgs);
        Assert.Equal(FailureKind.InvalidArgument, Assert.Throws<StorageException>(() => Formatter.MkfsCommand("/dev/x", "btrfs", FormatOptions.None)).Kind);
        Assert.Equal(["-F", "-m", "0", "-E", "lazy_itable_init=1,lazy_journal_init=1", "--", "/dev/x"],
            Formatter.MkfsCommand("/dev/x", "ext3", FormatOptions.None, overwritePartial: true).Arguments);
        Assert.Equal(["-f", "--", "/dev/x"], Formatter.MkfsCommand("/dev/x", "xfs", FormatOptions.None, overwritePartial: true).Arguments);
    }

    [Theory]
    [InlineData("ext4")]
    [InlineData("xfs")]
    public async Task Formatting_again_after_an_interrupted_mkfs_overwrites_data_without_a_signature_and_nothing_else(string fsType)
    {
        using var dir = new TestDirectory("reformat");
        var loop = LoopDevice.Create(dir, Size);
        // A mkfs cut off before its superblock: what it wrote is there, no signature is.
        Shell.Run("mkfs." + fsType, "-q", loop.Device);
        RawBytes.WriteAt(loop.Device, 0, new byte[4096]);
        Assert.Equal(DeviceContentKind.UnidentifiedData, (await _os.Probe.ProbeAsync(loop.Device, CancellationToken.None)).Kind);

        await _os.Formatter.FormatInterruptedAsync(loop.Device, fsType, FormatOptions.None, CancellationToken.None);

        Assert.Equal(new DeviceContent(DeviceContentKind.Filesystem, fsType), await _os.Probe.ProbeAsync(loop.Device, CancellationToken.None));
        // A complete filesystem is never formatted again, whatever the caller believes.
        var uuid = Shell.Run("blkid", "-p", "-s", "UUID", "-o", "value", loop.Device).Trim();
        var error = await Assert.ThrowsAsync<StorageException>(
            () => _os.Formatter.FormatInterruptedAsync(loop.Device, fsType, FormatOptions.None, CancellationToken.None));
        Assert.Equal(FailureKind.FailedPrecondition, error.Kind);
        Assert.Equal(uuid, Shell.Run("blkid", "-p", "-s", "UUID", "-o", "value", loop.Device).Trim());
    }

    [Fact]
    public async Task An_xfs_whose_mkfs_did_not_finish_is_unfinished_and_formatted_again()
    {
        using var dir = new TestDirectory("reformat");
        var loop = LoopDevice.Create(dir, Size);
        Shell.Run("mkfs.xfs", "-q", loop.Device);
        Assert.False(await _os.Formatter.IsUnfinishedAsync(loop.Device, "xfs", CancellationToken.None));
        var uuid = Shell.Run("blkid", "-p", "-s", "UUID", "-o", "value", loop.Device).Trim();
        // What mkfs.xfs leaves when killed between writing its superblock and clearing sb_inprogress at its end.
        Shell.Run("xfs_db", "-x", "-c", "sb 0", "-c", "write inprogress 1", "--", loop.Device);

        Assert.True(await _os.Formatter.IsUnfinishedAsync(loop.Device, "xfs", CancellationToken.None));
        Assert.False(await _os.Formatter.IsUnfinishedAsync(loop.Device, "ext4", CancellationToken.None));
        await Assert.ThrowsAsync<StorageException>(() => _os.Formatter.FormatInterruptedAsync(loop.Device, "ext4", FormatOptions.None, CancellationToken.None));
        await _os.Formatter.FormatInterruptedAsync(loop.Device, "xfs", FormatOptions.None, CancellationToken.None);

        Assert.False(await _os.Formatter.IsUnfinishedAsync(loop.Device, "xfs", CancellationToken.None));
        Assert.NotEqual(uuid, Shell.Run("blkid", "-p", "-s", "UUID", "-o", "value", loop.Device).Trim());
    }

    [Fact]
    public async Task Formatting_again_after_an_interruption_refuses_a_partition_table()
    {
        using var dir = new TestDirectory("reformat");
        var loop = LoopDevice.Create(dir, 64 * LoopDevice.MiB);
        RawBytes.WriteMbrPartitionTable(loop.Device);

        var error = await Assert.ThrowsAsync<StorageException>(
            () => _os.Formatter.FormatInterruptedAsync(loop.Device, "ext4", FormatOptions.None, CancellationToken.None));

        Assert.Equal(FailureKind.FailedPrecondition, error.Kind);
        Assert.Equal(new DeviceContent(DeviceContentKind.PartitionTable, "dos"), await _os.Probe.ProbeAsync(loop.Device, CancellationToken.None));
    }

    private static Dictionary<string, string> DumpE2fs(string device)
    {
        var header = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in Shell.Run("dumpe2fs", "-h", device).Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                header[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }
        return header;
    }
}
