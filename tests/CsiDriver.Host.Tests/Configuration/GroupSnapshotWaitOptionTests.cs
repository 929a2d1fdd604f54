namespace CsiDriver.Host.Tests.Configuration;

[Trait("Category", "Unit")]
public sealed class GroupSnapshotWaitOptionTests
{
    [Theory]
    [InlineData(new string[0], 45.0)]
    [InlineData(new[] { "--aws-group-snapshot-wait", "2" }, 2.0)]
    [InlineData(new[] { "--aws-group-snapshot-wait", "0.5" }, 0.5)]
    [InlineData(new[] { "--aws-group-snapshot-wait", "0" }, 0.0)]
    public void The_command_line_sets_how_long_a_group_snapshot_waits_for_ec2(string[] arguments, double seconds)
    {
        var commandLine = new CommandLine();
        var root = commandLine.BuildRoot((_, _) => Task.FromResult(0));

        var options = commandLine.Bind(root.Parse(arguments)).Aws;

        Assert.Equal(TimeSpan.FromSeconds(seconds), options.GroupSnapshotWait);
        Assert.Empty(options.Validate());
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    public void A_negative_or_endless_wait_is_refused_naming_the_flag(string value)
    {
        var commandLine = new CommandLine();
        var root = commandLine.BuildRoot((_, _) => Task.FromResult(0));

        var error = Assert.Throws<ArgumentException>(() => commandLine.Bind(root.Parse(["--aws-group-snapshot-wait", value])));

        Assert.Contains("--aws-group-snapshot-wait", error.Message, StringComparison.Ordinal);
    }
}
