using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;

namespace CsiDriver.Cloud.Aws.Tests.Volumes;

[Trait("Category", "Unit")]
public sealed class VolumeParametersTests
{
    private static readonly VolumeCapabilitySpec Mount = new(AccessType.Mount, AccessMode.SingleNodeWriter, "", []);
    private static readonly VolumeCapabilitySpec MountXfs = new(AccessType.Mount, AccessMode.SingleNodeWriter, "xfs", []);
    private static readonly VolumeCapabilitySpec Block = new(AccessType.Block, AccessMode.SingleNodeWriter, "", []);

    private static VolumeParameters Parse(Dictionary<string, string> parameters, VolumeCapabilitySpec? capability = null, Dictionary<string, string>? mutable = null) =>
        VolumeParameters.Parse(parameters, mutable ?? [], [capability ?? Mount]);

    private static StorageException Invalid(Action action)
    {
        var error = Assert.Throws<StorageException>(action);
        Assert.Equal(FailureKind.InvalidArgument, error.Kind);
        return error;
    }

    [Fact]
    public void Defaults_to_gp3_ext4_unencrypted()
    {
        var parameters = Parse([]);

        Assert.Equal("gp3", parameters.VolumeType);
        Assert.Equal("ext4", parameters.FsType);
        Assert.False(parameters.Encrypted);
        Assert.Equal((null, null), parameters.ResolvePerformance(10));
    }

    [Fact]
    public void Keys_match_case_insensitively_like_the_ebs_driver()
    {
        var parameters = Parse(new() { ["Type"] = "IO2", ["IOPS"] = "5000", ["Encrypted"] = "true", ["KmsKeyId"] = "arn:aws:kms:key" });

        Assert.Equal("io2", parameters.VolumeType);
        Assert.Equal((5000, null), parameters.ResolvePerformance(100));
        Assert.True(parameters.Encrypted);
        Assert.Equal("arn:aws:kms:key", parameters.KmsKeyId);
    }

    [Fact]
    public void Fstype_from_capability_beats_parameter()
    {
        Assert.Equal("xfs", Parse(new() { ["csi.storage.k8s.io/fstype"] = "ext3" }, MountXfs).FsType);
        Assert.Equal("ext3", Parse(new() { ["csi.storage.k8s.io/fstype"] = "ext3" }).FsType);
        Assert.Equal(string.Empty, Parse([], Block).FsType);
        Assert.Equal("xfs", Parse(new() { ["fsType"] = "xfs" }).FsType);
    }

    [Fact]
    public void Format_options_are_carried_for_the_node()
    {
        var parameters = Parse(new() { ["blockSize"] = "4096", ["inodeSize"] = "512", ["ext4BigAlloc"] = "true", ["ext4ClusterSize"] = "16384" });

        var context = parameters.Format.ToVolumeContext();
        Assert.Equal("4096", context["blockSize"]);
        Assert.Equal("16384", context["ext4ClusterSize"]);
    }

    [Fact]
    public void Format_options_on_block_volume_are_rejected()
    {
        Invalid(() => Parse(new() { ["blockSize"] = "4096" }, Block));
    }

    [Fact]
    public void Unknown_key_is_named()
    {
        var error = Invalid(() => Parse(new() { ["colour"] = "blue" }));
        Assert.Contains("colour", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Provisioner_metadata_is_accepted_and_feeds_templates()
    {
        var parameters = Parse(new()
        {
            ["csi.storage.k8s.io/pvc/name"] = "data",
            ["csi.storage.k8s.io/pvc/namespace"] = "prod",
            ["csi.storage.k8s.io/pv/name"] = "pvc-123",
        });

        Assert.Equal("data", parameters.TemplateValues[TagTemplate.PvcName]);
        Assert.Equal("prod", parameters.TemplateValues[TagTemplate.PvcNamespace]);
        Assert.Equal("pvc-123", parameters.TemplateValues[TagTemplate.PvName]);
    }

    [Fact]
    public void Unknown_type_lists_the_known_ones()
    {
        var error = Invalid(() => Parse(new() { ["type"] = "gp9" }));
        Assert.Contains("gp3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Kms_key_needs_encryption()
    {
        Invalid(() => Parse(new() { ["kmsKeyId"] = "k" }));
    }

    [Fact]
    public void Iops_and_iops_per_gb_are_exclusive()
    {
        Invalid(() => Parse(new() { ["type"] = "io1", ["iops"] = "100", ["iopsPerGB"] = "10" }));
    }

    [Theory]
    [InlineData("gp3", "iops", "2000", 100, "3000 to 16000")]
    [InlineData("gp3", "iops", "17000", 100, "3000 to 16000")]
    [InlineData("gp3", "iops", "6000", 10, "500 IOPS per GiB")]
    [InlineData("io1", "iops", "1000", 10, "50 IOPS per GiB")]
    [InlineData("io1", "iops", "70000", 4000, "100 to 64000")]
    [InlineData("io2", "iops", "50", 10, "100 to 256000")]
    [InlineData("io2", "iops", "20000", 10, "1000 IOPS per GiB")]
    [InlineData("gp2", "iops", "3000", 10, "not supported for volume type gp2")]
    [InlineData("st1", "throughput", "200", 500, "only gp3")]
    [InlineData("gp3", "throughput", "1200", 100, "125 to 1000")]
    [InlineData("gp3", "throughput", "1000", 100, "needs at least 4000 IOPS")]
    public void Per_type_limits_say_which_limit(string type, string key, string value, long sizeGiB, string expected)
    {
        var parameters = Parse(new() { ["type"] = type, [key] = value });

        var error = Invalid(() => parameters.ResolvePerformance(sizeGiB));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gp3_throughput_within_ratio_is_fine()
    {
        Assert.Equal((4000, 1000), Parse(new() { ["iops"] = "4000", ["throughput"] = "1000" }).ResolvePerformance(100));
        Assert.Equal((null, 750), Parse(new() { ["throughput"] = "750" }).ResolvePerformance(1));
    }

    [Fact]
    public void Io_types_need_iops()
    {
        var error = Invalid(() => Parse(new() { ["type"] = "io2" }).ResolvePerformance(10));
        Assert.Contains("iops", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Iops_per_gb_multiplies_and_caps_at_the_maximum()
    {
        Assert.Equal((500, null), Parse(new() { ["type"] = "io1", ["iopsPerGB"] = "50" }).ResolvePerformance(10));
        Assert.Equal((64000, null), Parse(new() { ["type"] = "io1", ["iopsPerGB"] = "50" }).ResolvePerformance(16000));
    }

    [Fact]
    public void Iops_per_gb_below_minimum_needs_auto_increase()
    {
        var error = Invalid(() => Parse(new() { ["type"] = "io1", ["iopsPerGB"] = "2" }).ResolvePerformance(10));
        Assert.Contains("allowAutoIOPSPerGBIncrease", error.Message, StringComparison.Ordinal);

        var raised = Parse(new() { ["type"] = "io1", ["iopsPerGB"] = "2", ["allowAutoIOPSPerGBIncrease"] = "true" }).ResolvePerformance(10);
        Assert.Equal((100, null), raised);
    }

    [Fact]
    public void Mutable_parameters_override_and_unknown_mutable_key_is_rejected()
    {
        var parameters = Parse(new() { ["type"] = "gp2" }, mutable: new() { ["type"] = "gp3", ["iops"] = "4000" });
        Assert.Equal("gp3", parameters.VolumeType);

        Invalid(() => Parse([], mutable: new() { ["encrypted"] = "true" }));
    }

    [Fact]
    public void Bad_numbers_and_booleans_name_the_key()
    {
        Assert.Contains("iops", Invalid(() => Parse(new() { ["iops"] = "lots" })).Message, StringComparison.Ordinal);
        Assert.Contains("encrypted", Invalid(() => Parse(new() { ["encrypted"] = "yes" })).Message, StringComparison.Ordinal);
    }
}
