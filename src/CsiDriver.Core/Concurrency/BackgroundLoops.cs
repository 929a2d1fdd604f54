using CsiDriver.Core.Errors;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace CsiDriver.Core.Concurrency;

/// <summary>
/// The owner of the driver's background loops (the EC2 batch pollers, the modification coalescer): each loop is
/// started through <see cref="Start"/>, runs with <see cref="Stopping"/>, and is tracked until it ends. The host stops
/// them after the gRPC server has drained its in-flight calls (<see cref="StoppedAsync"/>, after every hosted
/// service's StopAsync), cancels them and awaits every one, so no loop outlives the host.
/// </summary>
public sealed class BackgroundLoops : IHostedLifecycleService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly HashSet<Task> _running = [];

    /// <summary>Cancelled when the host stops; loops pass it to their waits and calls.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Loops running now (for tests and diagnostics).</summary>
    public int RunningCount
    {
        get
        {
            lock (_running)
            {
                return _running.Count;
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="loop"/> on the thread pool until it returns. Once stopping, refuses with UNAVAILABLE:
    /// a call that arrives during shutdown is retried by the CO against the next driver.
    /// </summary>
    public Task Start(Func<CancellationToken, Task> loop)
    {
        lock (_running)
        {
            if (_stopping.IsCancellationRequested)
            {
                throw ShuttingDown();
            }
            var task = Task.Run(() => loop(_stopping.Token), CancellationToken.None);
            _running.Add(task);
            _ = task.ContinueWith(
                finished =>
                {
                    lock (_running)
                    {
                        _running.Remove(finished);
                    }
                },
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return task;
        }
    }

    /// <summary>The failure of work a stopping loop leaves undone.</summary>
    public static StorageException ShuttingDown() => StorageException.Unavailable("the driver is shutting down");

    /// <summary>Cancels every loop and waits until all have ended (or <paramref name="cancellationToken"/> gives up).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task[] running;
        lock (_running)
        {
            _stopping.Cancel();
            running = [.. _running];
        }
        try
        {
            await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // A loop that failed has ended too; its waiters received the failure.
        }
        lock (_running)
        {
            // Ended loops, even where their own clean-up continuation has not run yet.
            _running.RemoveWhere(task => task.IsCompleted);
        }
    }

    Task IHostedLifecycleService.StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedService.StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Not in StopAsync: hosted services stop in reverse order, and the loops must keep serving the calls Kestrel
    // is still draining. StoppedAsync runs after every StopAsync.
    Task IHostedService.StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StoppedAsync(CancellationToken cancellationToken) => StopAsync(cancellationToken);

    public void Dispose() => _stopping.Dispose();
}

public static class BackgroundLoopsRegistration
{
    /// <summary>Registers the one <see cref="BackgroundLoops"/> and lets the host stop it.</summary>
    public static IServiceCollection AddBackgroundLoops(this IServiceCollection services)
    {
        services.TryAddSingleton<BackgroundLoops>();
        services.AddHostedService(sp => sp.GetRequiredService<BackgroundLoops>());
        return services;
    }
}
