using CsiDriver.Cloud.Aws.Limits;

namespace CsiDriver.Cloud.Aws.Tests.Limits;

[Trait("Category", "Unit")]
public sealed class InstanceAttachLimitsTests
{
    [Fact]
    public void Nitro_shares_28_slots_with_enis_instance_store_and_root()
    {
        Assert.Equal(28 - 2 - 0 - 1, InstanceAttachLimits.For("m5.large", networkInterfaces: 2, instanceStoreDisks: 0, otherEbsVolumes: 1));
        Assert.Equal(28 - 3 - 2 - 1, InstanceAttachLimits.For("m5d.4xlarge", 3, 2, 1));
    }

    [Fact]
    public void Dedicated_families_ignore_enis()
    {
        Assert.Equal(32 - 1, InstanceAttachLimits.For("m7i.large", networkInterfaces: 8, instanceStoreDisks: 0, otherEbsVolumes: 1));
        Assert.Equal(128 - 1, InstanceAttachLimits.For("m7i.48xlarge", 15, 0, 1));
    }

    [Fact]
    public void Xen_uses_39()
    {
        Assert.Equal(38, InstanceAttachLimits.For("m4.xlarge", 4, 0, 1));
    }

    [Fact]
    public void Never_reports_zero_which_would_mean_unlimited()
    {
        Assert.Equal(1, InstanceAttachLimits.For("m5.24xlarge", networkInterfaces: 30, instanceStoreDisks: 0, otherEbsVolumes: 1));
    }

    [Fact]
    public void Unknown_type_is_treated_as_shared_nitro()
    {
        Assert.Equal(26, InstanceAttachLimits.For(null, 1, 0, 1));
    }
}
