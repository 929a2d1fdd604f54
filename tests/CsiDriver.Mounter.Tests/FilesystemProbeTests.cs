using CsiDriver.Mounter.Filesystems;

namespace CsiDriver.Mounter.Tests;

/// <summary>How blkid's export output is read: anything that is not plainly a filesystem is never "blank".</summary>
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
}
