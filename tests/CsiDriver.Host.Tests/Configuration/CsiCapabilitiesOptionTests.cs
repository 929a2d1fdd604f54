using CsiDriver.Core;

namespace CsiDriver.Host.Tests.Configuration;

[Trait("Category", "Unit")]
public sealed class CsiCapabilitiesOptionTests
{
    [Theory]
    [InlineData(new string[0], "1.11")]
    [InlineData(new[] { "--csi-capabilities", "v1.12" }, "1.12")]
    [InlineData(new[] { "--csi-capabilities", "1.11" }, "1.11")]
    public void The_command_line_sets_the_advertised_spec_level(string[] arguments, string expected)
    {
        var commandLine = new CommandLine();
        var root = commandLine.BuildRoot((_, _) => Task.FromResult(0));

        var options = commandLine.Bind(root.Parse(arguments)).Driver;

        Assert.Equal(Version.Parse(expected), options.CsiCapabilities);
        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData("v1.13")]
    [InlineData("v1.10")]
    public void An_unsupported_release_is_refused_naming_the_choices(string text)
    {
        Assert.True(DriverOptions.TryParseCsiVersion(text, out var version));

        var error = Assert.Single(new DriverOptions { CsiCapabilities = version }.Validate());
        Assert.Contains("--csi-capabilities", error, StringComparison.Ordinal);
        Assert.Contains("v1.11, v1.12", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("latest")]
    [InlineData("v1")]
    [InlineData("1.12.0")]
    [InlineData("")]
    public void Text_that_is_no_release_does_not_parse(string text) =>
        Assert.False(DriverOptions.TryParseCsiVersion(text, out _));
}
