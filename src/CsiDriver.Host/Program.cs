using CsiDriver.Host;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

var commandLine = new CommandLine();
var root = commandLine.BuildRoot(static async (configuration, cancellationToken) =>
{
    Microsoft.AspNetCore.Builder.WebApplication app;
    try
    {
        app = DriverHost.Build(configuration);
    }
    catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException or OptionsValidationException)
    {
        await ReportAsync(ex).ConfigureAwait(false);
        return 2;
    }
    await using (app.ConfigureAwait(false))
    {
        try
        {
            await app.StartAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OptionsValidationException)
        {
            // e.g. the metrics port is taken, or the aws start-up step cannot resolve the node's metadata: say so
            // plainly instead of an unhandled-exception dump.
            await ReportAsync(ex).ConfigureAwait(false);
            return ex is OptionsValidationException ? 2 : 1;
        }
        await app.WaitForShutdownAsync().ConfigureAwait(false);
    }
    return 0;
});
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);

static Task ReportAsync(Exception ex) => ex is OptionsValidationException invalid
    ? Console.Error.WriteLineAsync(string.Join(Environment.NewLine, invalid.Failures.Select(failure => $"csi-driver: {failure}")))
    : Console.Error.WriteLineAsync($"csi-driver: {ex.Message}");
