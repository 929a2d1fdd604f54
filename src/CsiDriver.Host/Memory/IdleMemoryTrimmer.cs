using System.Diagnostics;
using CsiDriver.Core;
using CsiDriver.Core.Concurrency;
using CsiDriver.Driver.Grpc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CsiDriver.Host.Memory;

/// <summary>
/// Gives memory back (<see cref="IProcessMemory"/>) once the driver goes quiet: after start-up and after each burst
/// of work, when no work call has run for <see cref="DriverOptions.TrimMemoryAfter"/>. A node plugin spends nearly all
/// its life idle between one pod's stage and the next, and otherwise keeps what its busiest moment committed and
/// faulted in (bench/README.md "Footprint"). Once per burst, never while a call is in flight; the livenessprobe's
/// Probes are not work and neither start nor prevent a trim.
/// </summary>
public sealed class IdleMemoryTrimmer(
    CallActivity activity, BackgroundLoops loops, IProcessMemory memory, IOptions<DriverOptions> options, ILogger<IdleMemoryTrimmer> logger)
    : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var quietFor = options.Value.TrimMemoryAfter;
        if (quietFor > TimeSpan.Zero)
        {
            loops.Start(stopping => RunAsync(quietFor, stopping));
        }
        return Task.CompletedTask;
    }

    // BackgroundLoops cancels the loop and waits for it once the server has drained.
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task RunAsync(TimeSpan quietFor, CancellationToken stopping)
    {
        try
        {
            while (true)
            {
                var calls = await activity.WaitForQuietAsync(quietFor, stopping).ConfigureAwait(false);
                var started = Stopwatch.GetTimestamp();
                var trimmed = memory.Trim();
                HostLog.MemoryTrimmed(logger, quietFor.TotalSeconds, trimmed.ResidentBefore >> 20, trimmed.ResidentAfter >> 20,
                    trimmed.FilePagesAdvised >> 20, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                await activity.WaitForCallAfterAsync(calls, stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }
}

public static class IdleMemoryTrimmerRegistration
{
    /// <summary>Gives memory back when the driver goes quiet, unless <see cref="DriverOptions.TrimMemoryAfter"/> is zero.</summary>
    public static IServiceCollection AddIdleMemoryTrimmer(this IServiceCollection services, DriverOptions options)
    {
        if (options.TrimMemoryAfter <= TimeSpan.Zero)
        {
            return services;
        }
        services.AddBackgroundLoops();
        services.TryAddSingleton<IProcessMemory, ProcessMemory>();
        services.AddHostedService<IdleMemoryTrimmer>();
        return services;
    }
}
