using Csi.V1;
using CsiDriver.Cli;
using CsiDriver.Cloud.Aws;
using CsiDriver.Cloud.Local;
using CsiDriver.Core;
using CsiDriver.Host;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Testing;

/// <summary>
/// The real driver, in this process, serving on a real unix socket under a test directory,
/// with gRPC clients connected through that socket.
/// </summary>
public sealed class RunningDriver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly GrpcChannel _channel;

    private RunningDriver(WebApplication app, DriverConfiguration configuration)
    {
        _app = app;
        Configuration = configuration;
        _channel = UnixSocketChannel.Create(configuration.Driver.Endpoint);
        Identity = new Identity.IdentityClient(_channel);
        Controller = new Controller.ControllerClient(_channel);
        Node = new Node.NodeClient(_channel);
        GroupController = new GroupController.GroupControllerClient(_channel);
    }

    public DriverConfiguration Configuration { get; }

    public IServiceProvider Services => _app.Services;

    public Identity.IdentityClient Identity { get; }

    public Controller.ControllerClient Controller { get; }

    public Node.NodeClient Node { get; }

    public GroupController.GroupControllerClient GroupController { get; }

    /// <summary>
    /// Default configuration for a local-backend driver rooted in the test directory: node operations may act
    /// anywhere below it (its only --allowed-path-root), and the node remembers what it did in node-state/.
    /// </summary>
    public static DriverConfiguration LocalConfiguration(TestDirectory directory, DriverMode mode = DriverMode.All, string nodeId = "test-node") =>
        new(
            new DriverOptions
            {
                Endpoint = "unix://" + directory.Path("csi.sock"),
                Mode = mode,
                NodeId = nodeId,
                Backend = BackendKind.Local,
                LogLevel = "Warning",
                AllowedPathRoots = [directory.Root],
                NodeStateDir = directory.Path("node-state"),
                // One test process hosts many drivers; the trim's collection is process-wide (IdleMemoryTrimmerTests cover it).
                TrimMemoryAfter = TimeSpan.Zero,
            },
            new LocalBackendOptions { StateDir = directory.Path("state") },
            new AwsBackendOptions());

    public static Task<RunningDriver> StartLocalAsync(TestDirectory directory, DriverMode mode = DriverMode.All) =>
        StartAsync(LocalConfiguration(directory, mode));

    public static async Task<RunningDriver> StartAsync(
        DriverConfiguration configuration,
        Action<ILoggingBuilder>? configureLogging = null,
        Action<IServiceCollection>? configureServices = null)
    {
        var app = DriverHost.Build(configuration, configureLogging, configureServices);
        await app.StartAsync().ConfigureAwait(false);
        return new RunningDriver(app, configuration);
    }

    public async ValueTask DisposeAsync()
    {
        // Stop first, channel last: calls still in flight finish, as they would on SIGTERM.
        await _app.StopAsync().ConfigureAwait(false);
        _channel.Dispose();
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
