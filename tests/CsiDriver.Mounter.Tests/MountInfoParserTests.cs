using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Mounts;

namespace CsiDriver.Mounter.Tests;

[Trait("Category", "Unit")]
public sealed class MountInfoParserTests
{
    [Fact]
    public void Parses_every_field_of_a_line_with_optional_fields()
    {
        var entry = MountInfoParser.TryParseLine(
            "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue");

        Assert.NotNull(entry);
        Assert.Equal(36, entry.MountId);
        Assert.Equal(35, entry.ParentId);
        Assert.Equal(new DeviceNumber(98, 0), entry.Device);
        Assert.Equal("/mnt1", entry.Root);
        Assert.Equal("/mnt2", entry.MountPoint);
        Assert.Equal(["rw", "noatime"], entry.MountOptions);
        Assert.Equal("ext3", entry.FsType);
        Assert.Equal("/dev/root", entry.Source);
        Assert.Equal(["rw", "errors=continue"], entry.SuperOptions);
        Assert.False(entry.IsReadOnly);
        Assert.True(entry.HasOption("noatime"));
        Assert.True(entry.HasOption("errors=continue"));
    }

    [Fact]
    public void Parses_a_line_without_optional_fields()
    {
        var entry = MountInfoParser.TryParseLine("120 27 7:3 / /var/lib/kubelet/stage ro,relatime - xfs /dev/loop3 ro,attr2,nouuid");

        Assert.NotNull(entry);
        Assert.Equal("/var/lib/kubelet/stage", entry.MountPoint);
        Assert.True(entry.IsReadOnly);
        Assert.Equal("xfs", entry.FsType);
        Assert.Equal(new DeviceNumber(7, 3), entry.Device);
    }

    [Theory]
    [InlineData(@"/mnt/with\040space", "/mnt/with space")]
    [InlineData(@"/mnt/tab\011here", "/mnt/tab\there")]
    [InlineData(@"/mnt/new\012line", "/mnt/new\nline")]
    [InlineData(@"/mnt/back\134slash", @"/mnt/back\slash")]
    [InlineData(@"/mnt/\303\251t\303\251", "/mnt/été")]
    [InlineData(@"/mnt/not\08octal", @"/mnt/not\08octal")]
    [InlineData(@"/mnt/trailing\04", @"/mnt/trailing\04")]
    [InlineData("/plain", "/plain")]
    public void Unescapes_octal_escapes_in_paths(string field, string expected)
    {
        Assert.Equal(expected, MountInfoParser.Unescape(field));
    }

    [Fact]
    public void Escaped_mount_point_and_source_are_unescaped_in_entries()
    {
        var entry = MountInfoParser.TryParseLine(@"50 27 0:45 / /tmp/a\040b\134c rw - tmpfs my\040tmp rw");

        Assert.NotNull(entry);
        Assert.Equal(@"/tmp/a b\c", entry.MountPoint);
        Assert.Equal("my tmp", entry.Source);
    }

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw")]
    [InlineData("x 35 98:0 /mnt1 /mnt2 rw - ext3 /dev/root rw")]
    [InlineData("36 35 98-0 /mnt1 /mnt2 rw - ext3 /dev/root rw")]
    public void Malformed_lines_are_skipped(string line)
    {
        Assert.Null(MountInfoParser.TryParseLine(line));
        Assert.Empty(MountInfoParser.Parse(line));
    }

    [Fact]
    public void Parse_reads_every_line_and_skips_bad_ones()
    {
        var text = "1 0 0:1 / / rw - rootfs rootfs rw\nnonsense\n2 1 7:0 / /data rw - ext4 /dev/loop0 rw\n";

        var entries = MountInfoParser.Parse(text);

        Assert.Equal(["/", "/data"], entries.Select(e => e.MountPoint));
    }

    [Fact]
    public void Topmost_picks_the_mount_stacked_last_on_a_mount_point()
    {
        var entries = MountInfoParser.Parse(
            "30 1 7:1 / /data rw - ext4 /dev/loop1 rw\n" +
            "40 30 7:2 / /data rw - ext4 /dev/loop2 rw\n" +
            "41 1 7:3 / /other rw - ext4 /dev/loop3 rw\n");

        Assert.Equal("/dev/loop2", ProcMountTable.Topmost(entries, "/data")?.Source);
        Assert.Equal("/dev/loop3", ProcMountTable.Topmost(entries, "/other")?.Source);
        Assert.Null(ProcMountTable.Topmost(entries, "/missing"));
    }

    [Fact]
    public void The_live_mount_table_finds_the_root_mount_and_rejects_plain_directories()
    {
        var table = new ProcMountTable(new PathInspector());

        Assert.NotEmpty(table.ReadAll());
        Assert.NotNull(table.FindByMountPoint("/proc"));
        Assert.Null(table.FindByMountPoint("/proc/self"));
        Assert.Null(table.FindByMountPoint("/no/such/path"));
    }
}
