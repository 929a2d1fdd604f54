using CsiDriver.Core;

namespace CsiDriver.Host.Tests.Configuration;

[Trait("Category", "Unit")]
public sealed class MetricsAddressTests
{
    [Theory]
    [InlineData(":3301", null, 3301)]
    [InlineData("0.0.0.0:3301", "0.0.0.0", 3301)]
    [InlineData("127.0.0.1:3301", "127.0.0.1", 3301)]
    [InlineData("[::]:3301", "::", 3301)]
    [InlineData("[::1]:9808", "::1", 9808)]
    [InlineData("localhost:3301", "127.0.0.1", 3301)]
    [InlineData("127.0.0.1:0", "127.0.0.1", 0)]
    public void Accepted_forms_parse_to_address_and_port(string text, string? address, int port)
    {
        Assert.True(DriverOptions.TryParseListenAddress(text, out var parsed, out var parsedPort));
        Assert.Equal(address, parsed?.ToString());
        Assert.Equal(port, parsedPort);
        Assert.Empty(new DriverOptions { MetricsAddress = text }.Validate());
    }

    [Theory]
    [InlineData("3301")]
    [InlineData(":")]
    [InlineData(":70000")]
    [InlineData(":-1")]
    [InlineData("metrics.example.com:3301")]
    [InlineData("::1:3301")]
    [InlineData("10.1:3301")]
    [InlineData("http://0.0.0.0:3301")]
    [InlineData("[127.0.0.1]:3301")]
    [InlineData("")]
    public void Other_forms_are_refused_with_a_message_naming_the_option(string text)
    {
        var errors = new DriverOptions { MetricsAddress = text }.Validate();

        var error = Assert.Single(errors);
        Assert.Contains("--metrics-address", error);
        Assert.Contains(":3301", error);
    }

    [Fact]
    public void The_listener_is_off_by_default()
    {
        Assert.Null(new DriverOptions().MetricsAddress);
        Assert.Empty(new DriverOptions().Validate());
    }
}
