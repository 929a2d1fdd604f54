using CsiDriver.Mounter.Filesystems;

namespace CsiDriver.Mounter.Tests;

/// <summary>How blkid's export output is read: anything that is not plainly a filesystem is never "blank".</summary>
[Trait("Category", "Unit")]
public sealed class FilesystemProbeTests
{
    [Theory]
    [InlineData("DEVNAME=/dev/loop0\nUUID=1\nTYPE=ext4\nUSAGE=filesystem\n", DeviceContentKind.Filesystem, "ext4")]
    [InlineData("DEVNAME=/dev/loop0\nTYPE=xfs\nUSAGE=filesystem\n", DeviceContentKind.Filesystem, "xfs")]
    [InlineData("DEVNAME=/dev/loop0\nPTUUID=abc\nPTTYPE=gpt\n", DeviceContentKind.PartitionTable, "gpt")]
    [InlineData("DEVNAME=/dev/loop0\nPTTYPE=dos\n", DeviceContentKind.PartitionTable, "dos")]
    [InlineData("DEVNAME=/dev/loop0\nTYPE=crypto_LUKS\nUSAGE=crypto\n", DeviceContentKind.OtherSignature, "crypto_LUKS")]
    [InlineData("DEVNAME=/dev/loop0\nTYPE=linux_raid_member\nUSAGE=raid\n", DeviceContentKind.OtherSignature, "linux_raid_member")]
    [InlineData("DEVNAME=/dev/loop0\nTYPE=swap\nUSAGE=other\n", DeviceContentKind.OtherSignature, "swap")]
    [InlineData("DEVNAME=/dev/loop0\n", DeviceContentKind.OtherSignature, "unknown")]
    public void Blkid_export_output_is_classified(string output, DeviceContentKind kind, string type)
    {
        var content = BlkidFilesystemProbe.Classify(BlkidFilesystemProbe.ParseExport(output));

        Assert.Equal(kind, content.Kind);
        Assert.Equal(type, content.Type);
        Assert.False(content.IsBlank);
    }

    [Theory]
    [InlineData(64L << 20)]
    [InlineData(512L << 20)]
    [InlineData(1L << 40)]
    public void Samples_spread_evenly_between_the_edges_already_read(long deviceBytes)
    {
        var start = (long)BlkidFilesystemProbe.EdgeBytes;
        var end = deviceBytes - BlkidFilesystemProbe.EdgeBytes;

        var offsets = BlkidFilesystemProbe.SampleOffsets(start, end).ToList();

        Assert.InRange(offsets.Count, 1, BlkidFilesystemProbe.Samples + 1);
        Assert.All(offsets, o => Assert.InRange(o, start, end - 1));
        Assert.All(offsets, o => Assert.Equal(0, o % 4096));
        // No gap between two samples (or after the last) is wider than the stride: data larger than that is seen.
        var stride = Math.Max(BlkidFilesystemProbe.SampleBytes, (end - start) / BlkidFilesystemProbe.Samples);
        var gaps = offsets.Zip(offsets.Skip(1).Append(end), (a, b) => b - a);
        Assert.All(gaps, g => Assert.True(g <= stride + 4096, $"gap {g} > stride {stride}"));
    }

    [Fact]
    public void A_device_no_larger_than_its_two_edges_needs_no_samples() =>
        Assert.Empty(BlkidFilesystemProbe.SampleOffsets(1 << 20, 1 << 20));
}
