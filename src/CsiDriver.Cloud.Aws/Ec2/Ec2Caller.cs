using System.Diagnostics;
using Amazon.EC2;
using Amazon.Runtime;
using CsiDriver.Core.Observability;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Aws.Ec2;

/// <summary>
/// Every EC2 call goes through here: it goes out on the client of its throttling bucket, is timed and counted in
/// the metrics, and a failure leaves as a StorageException mapped by <see cref="Ec2ErrorMapper"/>. The SDK has
/// already retried (standard mode by default).
/// </summary>
public sealed class Ec2Caller(Ec2Clients clients, Ec2CallPacer pacer, DriverMetrics metrics, ILogger<Ec2Caller> logger)
{
    public const string Backend = "aws";

    /// <summary>Every action through one client, unpaced (unit tests with a mocked client).</summary>
    public Ec2Caller(IAmazonEC2 ec2, DriverMetrics metrics, ILogger<Ec2Caller> logger)
        : this(Ec2Clients.Shared(ec2), Ec2CallPacer.None, metrics, logger)
    {
    }

    public async Task<T> CallAsync<T>(string action, Func<IAmazonEC2, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var token = await pacer.WaitAsync(action, cancellationToken).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await call(clients.For(action), cancellationToken).ConfigureAwait(false);
            metrics.CloudCall(Backend, action, Stopwatch.GetElapsedTime(started), null, throttled: false);
            return result;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            metrics.CloudCall(Backend, action, Stopwatch.GetElapsedTime(started), "Canceled", throttled: false);
            throw;
        }
        catch (AmazonServiceException ex)
        {
            var throttled = Ec2ErrorMapper.IsThrottling(ex.ErrorCode);
            metrics.CloudCall(Backend, action, Stopwatch.GetElapsedTime(started), ex.ErrorCode ?? "Unknown", throttled);
            AwsBackendLog.Ec2CallFailed(logger, action, ex.ErrorCode, ex.Message, ex.RequestId);
            throw Ec2ErrorMapper.Map(action, ex);
        }
        catch (Exception ex) when (ex is AmazonClientException or HttpRequestException or OperationCanceledException or IOException)
        {
            // Out of retry capacity, the SDK wraps the last EC2 error: count it under its real code.
            var code = Ec2ErrorMapper.ServiceError(ex)?.ErrorCode;
            metrics.CloudCall(Backend, action, Stopwatch.GetElapsedTime(started), code ?? "ClientError", Ec2ErrorMapper.IsThrottling(code));
            AwsBackendLog.Ec2Unreachable(logger, action, ex.Message);
            throw Ec2ErrorMapper.Map(action, ex);
        }
    }
}
