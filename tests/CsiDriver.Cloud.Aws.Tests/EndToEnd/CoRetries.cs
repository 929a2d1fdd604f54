using Grpc.Core;

namespace CsiDriver.Cloud.Aws.Tests.EndToEnd;

/// <summary>How a CO's sidecars call the controller again after a failure, for tests that play the CO.</summary>
internal static class CoRetries
{
    /// <summary>As external-provisioner and external-attacher do: UNAVAILABLE and ABORTED are retried with backoff.</summary>
    public static Task<T> RetryLikeACoAsync<T>(Func<AsyncUnaryCall<T>> call) =>
        RetryAsync(call, code => code is StatusCode.Aborted or StatusCode.Unavailable or StatusCode.DeadlineExceeded, attempts: 10);

    /// <summary>As a CO does: a call still in flight for the same name answers ABORTED; try again shortly.</summary>
    public static async Task<T> RetryWhileAbortedAsync<T>(Func<AsyncUnaryCall<T>> call)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Aborted && attempt < 100)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>
    /// Calls until success, retrying the codes <paramref name="retry"/> accepts with exponential backoff (100 ms
    /// doubling to 2 s), at most <paramref name="attempts"/> retries; the last failure is thrown.
    /// </summary>
    public static async Task<T> RetryAsync<T>(Func<AsyncUnaryCall<T>> call, Func<StatusCode, bool> retry, int attempts)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (RpcException ex) when (retry(ex.StatusCode) && attempt < attempts)
            {
                await Task.Delay(delay);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
        }
    }
}
