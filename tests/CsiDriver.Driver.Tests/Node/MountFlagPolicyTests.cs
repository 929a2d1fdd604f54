using CsiDriver.Driver.Validation;

namespace CsiDriver.Driver.Tests.Node;

/// <summary>
/// The mount option allow-list lets through what users of block CSI drivers set (the hostile suite covers what it
/// refuses; NodeMountOptionTests mounts them for real).
/// </summary>
[Trait("Category", "Unit")]
public sealed class MountFlagPolicyTests
{
    [Theory]
    [InlineData("noatime")]
    [InlineData("noatime,nodiratime")]
    [InlineData("relatime")]
    [InlineData("strictatime")]
    [InlineData("lazytime")]
    [InlineData("ro")]
    [InlineData("nosuid,nodev,noexec")]
    [InlineData("sync")]
    [InlineData("dirsync")]
    [InlineData("discard")]
    [InlineData("nobarrier")]
    [InlineData("data=writeback")]
    [InlineData("commit=60")]
    [InlineData("errors=remount-ro")]
    [InlineData("nouuid")]
    [InlineData("logbsize=256k")]
    [InlineData("inode64")]
    [InlineData("prjquota")]
    [InlineData("uquota")]
    [InlineData("context=\"system_u:object_r:container_file_t:s0:c1,c2\"")]
    [InlineData("context=system_u:object_r:container_file_t:s0")]
    public void Options_users_set_are_allowed(string flag)
    {
        var options = MountFlagPolicy.Validate([flag], "mount_flags");

        Assert.NotEmpty(options);
        Assert.Equal(flag, string.Join(',', options));
    }

    [Fact]
    public void A_quoted_selinux_context_stays_one_option_with_its_comma()
    {
        var options = MountFlagPolicy.Validate(["noatime,context=\"system_u:object_r:container_file_t:s0:c1,c2\""], "mount_flags");

        Assert.Equal(["noatime", "context=\"system_u:object_r:container_file_t:s0:c1,c2\""], options);
    }
}
