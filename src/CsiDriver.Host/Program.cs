using CsiDriver.Host;

var commandLine = new CommandLine();
var root = commandLine.BuildRoot(static async (configuration, cancellationToken) =>
{
    Microsoft.AspNetCore.Builder.WebApplication app;
    try
    {
        app = DriverHost.Build(configuration);
    }
    catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException)
    {
        await Console.Error.WriteLineAsync($"csi-driver: {ex.Message}").ConfigureAwait(false);
        return 2;
    }
    try
    {
        await app.RunAsync().ConfigureAwait(false);
    }
    catch (IOException ex)
    {
        // e.g. the metrics port is taken: say so plainly instead of an unhandled-exception dump.
        await Console.Error.WriteLineAsync($"csi-driver: {ex.Message}").ConfigureAwait(false);
        return 1;
    }
    return 0;
});
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
