using CsiDriver.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Host.Tests.Configuration;

/// <summary>Options are served as IOptions&lt;T&gt; from the command-line values and checked when the host starts.</summary>
[Trait("Category", "Unit")]
public sealed class OptionsValidationTests
{
    [Fact]
    public void The_services_receive_the_command_line_values_themselves()
    {
        var values = new DriverOptions { DriverName = "x.example.com", VolumeAttachLimit = 3 };
        using var services = new ServiceCollection().AddDriverOptions(values).BuildServiceProvider();

        Assert.Same(values, services.GetRequiredService<IOptions<DriverOptions>>().Value);
    }

    [Fact]
    public async Task An_invalid_value_stops_the_host_at_start_naming_the_flag()
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddDriverOptions(new DriverOptions());
        // As a later registration (a test's, or a future option source) could do.
        builder.Services.Configure<DriverOptions>(o => o.VolumeAttachLimit = -1);
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(error.Failures, f => f.Contains("--volume-attach-limit", StringComparison.Ordinal));
    }

    [Fact]
    public void The_configuration_lists_every_problem_of_the_driver_and_the_chosen_backend()
    {
        var configuration = new DriverConfiguration(
            new DriverOptions { Endpoint = "relative.sock", Backend = BackendKind.Local },
            new CsiDriver.Cloud.Local.LocalBackendOptions { StateDir = "relative/state" },
            new CsiDriver.Cloud.Aws.AwsBackendOptions { RetryMode = "sometimes" });

        var errors = configuration.Validate();

        Assert.Contains(errors, e => e.Contains("--endpoint", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("--state-dir", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("--aws-retry-mode", StringComparison.Ordinal));
    }
}
