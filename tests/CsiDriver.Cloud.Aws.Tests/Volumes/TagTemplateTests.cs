using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Core.Errors;

namespace CsiDriver.Cloud.Aws.Tests.Volumes;

[Trait("Category", "Unit")]
public sealed class TagTemplateTests
{
    private static readonly Dictionary<string, string> Values = new()
    {
        [TagTemplate.PvcName] = "data",
        [TagTemplate.PvcNamespace] = "prod",
        [TagTemplate.PvName] = "pvc-1",
    };

    [Fact]
    public void Renders_the_variables()
    {
        var tag = TagTemplate.Render("owner={{ .PVCNamespace }}/{{.PVCName}}", Values);

        Assert.Equal("owner", tag.Key);
        Assert.Equal("prod/data", tag.Value);
    }

    [Fact]
    public void Unknown_variable_is_invalid_argument()
    {
        var error = Assert.Throws<StorageException>(() => TagTemplate.Render("x={{ .Cluster }}", Values));

        Assert.Equal(FailureKind.InvalidArgument, error.Kind);
        Assert.Contains(".Cluster", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("novalue")]
    [InlineData("=value")]
    [InlineData("x={{ if .PVCName }}")]
    [InlineData("aws:reserved=1")]
    public void Malformed_specification_is_invalid_argument(string specification)
    {
        var error = Assert.Throws<StorageException>(() => TagTemplate.Render(specification, Values));
        Assert.Equal(FailureKind.InvalidArgument, error.Kind);
    }

    [Fact]
    public void Driver_tags_win_over_extra_and_specified_tags()
    {
        var tags = EbsTags.Build(
            new Dictionary<string, string> { ["team"] = "a", [EbsTags.VolumeName] = "evil" },
            ["team=b", "env={{ .PVCNamespace }}"],
            Values,
            new Dictionary<string, string> { [EbsTags.VolumeName] = "pvc-1" });

        Assert.Equal("b", EbsTags.Get(tags, "team"));
        Assert.Equal("prod", EbsTags.Get(tags, "env"));
        Assert.Equal("pvc-1", EbsTags.Get(tags, EbsTags.VolumeName));
    }
}
