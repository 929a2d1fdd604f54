using CsiDriver.Cloud.Aws;
using CsiDriver.Cloud.Local;
using CsiDriver.Core;
using CsiDriver.Driver;
using CsiDriver.Host.Memory;
using CsiDriver.Host.Observability;
using CsiDriver.Kubernetes;
using CsiDriver.Mounter;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Host;

/// <summary>
/// The option values the command line (or a test) gives the driver. They seed the validated options the services
/// receive as <c>IOptions&lt;T&gt;</c> (see <see cref="ValidatedOptions"/>); only the backend's options are registered.
/// </summary>
public sealed record DriverConfiguration(DriverOptions Driver, LocalBackendOptions Local, AwsBackendOptions Aws)
{
    /// <summary>Every problem with the driver's and the chosen backend's options, each naming its flag.</summary>
    public IReadOnlyList<string> Validate()
    {
        var results = new[]
        {
            new DriverOptionsValidator().Validate(null, Driver),
            Driver.Backend == BackendKind.Local
                ? new LocalBackendOptionsValidator().Validate(null, Local)
                : new AwsBackendOptionsValidator().Validate(null, Aws),
        };
        return [.. results.Where(r => r.Failed).SelectMany(r => r.Failures ?? [])];
    }
}

/// <summary>Builds the driver's web application: CSI services on the unix socket, backend, node OS layer.</summary>
public static class DriverHost
{
    /// <summary>How long a CSI client's connection may stay idle before the server closes it: in effect never.</summary>
    public static readonly TimeSpan IdleConnectionTimeout = TimeSpan.FromDays(365);

    public static WebApplication Build(
        DriverConfiguration configuration,
        Action<ILoggingBuilder>? configureLogging = null,
        Action<IServiceCollection>? configureServices = null)
    {
        // Checked now as well as at start (ValidateOnStart): the socket path, logging and the services to register
        // come from these values before the container exists, and a bad value must not touch the socket.
        var errors = configuration.Validate();
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(DriverConfiguration), errors);
        }
        var options = configuration.Driver;

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        ConfigureLogging(builder.Logging, options);
        configureLogging?.Invoke(builder.Logging);

        // In-flight calls get this long to finish after SIGTERM.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        SocketEndpoint.Prepare(options.SocketPath);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.ListenUnixSocket(options.SocketPath, listen => listen.Protocols = HttpProtocols.Http2);
            // The sidecars and kubelet hold one gRPC connection for their lifetime and exit when it drops
            // (csi-lib-utils: "Lost connection to CSI driver, exiting"). Kestrel's default closes a connection idle
            // for 130 s, which killed a csi-snapshotter that had nothing to do for two minutes. A year, not
            // Timeout.InfiniteTimeSpan: Kestrel's HTTP/2 path adds the timeout to a timestamp, and TimeSpan.MaxValue
            // overflowed into closing every connection within seconds (seen in the e2e).
            kestrel.Limits.KeepAliveTimeout = IdleConnectionTimeout;
        });

        builder.Services.AddDriverOptions(options);
        builder.Services.AddCsiServices(options);
        builder.Services.AddNodeOs();
        switch (options.Backend)
        {
            case BackendKind.Local:
                builder.Services.AddLocalBackend(configuration.Local);
                break;
            case BackendKind.Aws:
                builder.Services.AddAwsBackend(configuration.Aws);
                break;
        }
        builder.AddObservability(options);
        builder.Services.AddKubernetesNodeApi(options.RunsNode);
        builder.Services.AddIdleMemoryTrimmer(options);

        // Tests replace services here (a fake provider, a test device finder); the last registration wins.
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapObservability(options);
        app.MapCsiServices(options);
        app.Lifetime.ApplicationStarted.Register(() => HostLog.Serving(
            app.Logger, typeof(DriverHost).Assembly.GetName().Version, options.DriverName, options.Endpoint, options.Mode, options.Backend,
            options.NodeId ?? "(backend default)"));
        app.Lifetime.ApplicationStopped.Register(() => TryDelete(options.SocketPath));
        return app;
    }

    private static void ConfigureLogging(ILoggingBuilder logging, DriverOptions options)
    {
        logging.ClearProviders();
        if (options.LogFormat == LogFormat.Json)
        {
            logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
                o.IncludeScopes = false;
            });
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.IncludeScopes = false;
            });
        }
        logging.SetMinimumLevel(Enum.Parse<LogLevel>(options.LogLevel, ignoreCase: true));
        // Framework request logs would repeat our own per-RPC line.
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        logging.AddFilter("Grpc", LogLevel.Warning);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}
