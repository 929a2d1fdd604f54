using CsiDriver.Core;
using CsiDriver.Driver.Identity;
using Microsoft.Extensions.Options;

namespace CsiDriver.Host.Observability;

/// <summary>The answer to /readyz: ready, or the short reason why not.</summary>
public sealed record ReadinessResult(bool Ready, string Reason);

/// <summary>
/// Ready when the backend answers its probe (the same check CSI Probe uses) and the CSI socket accepts a
/// connection. Each check is bounded so a hung backend makes /readyz say so instead of hanging the probe.
/// </summary>
public sealed class DriverReadiness(IOptions<DriverOptions> options, IReadinessCheck backend)
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    public async Task<ReadinessResult> CheckAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CheckTimeout);
        bool backendReady;
        try
        {
            backendReady = await backend.IsReadyAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ReadinessResult(false, $"backend probe did not answer within {CheckTimeout.TotalSeconds:0} s");
        }
        if (!backendReady)
        {
            return new ReadinessResult(false, "backend is not reachable (probe returned not ready)");
        }
        var socketPath = options.Value.SocketPath;
        if (!SocketEndpoint.IsServed(socketPath))
        {
            return new ReadinessResult(false, $"CSI socket {socketPath} does not accept connections");
        }
        return new ReadinessResult(true, "ok");
    }
}
