using System.Net;
using Amazon.Runtime;
using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Core.Errors;

namespace CsiDriver.Cloud.Aws.Tests.Ec2;

[Trait("Category", "Unit")]
public sealed class Ec2ErrorMapperTests
{
    [Theory]
    [InlineData("InvalidVolume.NotFound", FailureKind.NotFound)]
    [InlineData("InvalidSnapshot.NotFound", FailureKind.NotFound)]
    [InlineData("InvalidInstanceID.NotFound", FailureKind.NotFound)]
    [InlineData("InvalidVolumeID.Malformed", FailureKind.NotFound)]
    [InlineData("VolumeLimitExceeded", FailureKind.ResourceExhausted)]
    [InlineData("AttachmentLimitExceeded", FailureKind.ResourceExhausted)]
    [InlineData("InsufficientVolumeCapacity", FailureKind.ResourceExhausted)]
    [InlineData("RequestLimitExceeded", FailureKind.Unavailable)]
    [InlineData("Throttling", FailureKind.Unavailable)]
    [InlineData("IncorrectModificationState", FailureKind.Unavailable)]
    [InlineData("UnauthorizedOperation", FailureKind.PermissionDenied)]
    [InlineData("AuthFailure", FailureKind.PermissionDenied)]
    [InlineData("IdempotentParameterMismatch", FailureKind.AlreadyExists)]
    [InlineData("VolumeInUse", FailureKind.FailedPrecondition)]
    [InlineData("InvalidSnapshot.InUse", FailureKind.FailedPrecondition)]
    [InlineData("IncorrectState", FailureKind.FailedPrecondition)]
    [InlineData("InvalidParameterValue", FailureKind.InvalidArgument)]
    [InlineData("InvalidZone.NotFound", FailureKind.InvalidArgument)]
    [InlineData("InvalidKMSKey.Id", FailureKind.InvalidArgument)]
    [InlineData("SomethingNew", FailureKind.Internal)]
    public void Maps_each_EC2_code_to_one_failure_kind(string code, FailureKind expected)
    {
        var mapped = Ec2ErrorMapper.Map("CreateVolume", Ec2Mock.Error(code));

        Assert.Equal(expected, mapped.Kind);
        Assert.Equal(code, Ec2ErrorMapper.CodeOf(mapped));
    }

    [Fact]
    public void Unauthorized_names_the_action()
    {
        var mapped = Ec2ErrorMapper.Map("AttachVolume", Ec2Mock.Error("UnauthorizedOperation", "You are not authorized", HttpStatusCode.Forbidden));

        Assert.Equal(FailureKind.PermissionDenied, mapped.Kind);
        Assert.Contains("ec2:AttachVolume", mapped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Throttling_after_retries_says_so()
    {
        var mapped = Ec2ErrorMapper.Map("DescribeVolumes", Ec2Mock.Error("RequestLimitExceeded", "Request limit exceeded.", HttpStatusCode.ServiceUnavailable));

        Assert.Equal(FailureKind.Unavailable, mapped.Kind);
        Assert.Contains("throttled", mapped.Message, StringComparison.Ordinal);
        Assert.True(Ec2ErrorMapper.IsThrottling("RequestLimitExceeded"));
    }

    [Fact]
    public void Modification_rate_message_is_a_retryable_cooldown()
    {
        var mapped = Ec2ErrorMapper.Map("ModifyVolume",
            Ec2Mock.Error("VolumeModificationRateExceeded", "You've reached the maximum modification rate per volume limit."));

        Assert.Equal(FailureKind.Unavailable, mapped.Kind);
        Assert.Contains("cooldown", mapped.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Server_errors_are_unavailable()
    {
        var mapped = Ec2ErrorMapper.Map("CreateVolume", Ec2Mock.Error("Weird", "boom", HttpStatusCode.InternalServerError));

        Assert.Equal(FailureKind.Unavailable, mapped.Kind);
    }

    [Fact]
    public void Unreachable_endpoint_is_unavailable()
    {
        var mapped = Ec2ErrorMapper.Map("CreateVolume", new AmazonClientException("connection refused"));

        Assert.Equal(FailureKind.Unavailable, mapped.Kind);
        Assert.Null(Ec2ErrorMapper.CodeOf(mapped));
    }

    [Fact]
    public void Throttling_wrapped_by_the_sdk_retry_layer_is_still_throttling()
    {
        var wrapped = new AmazonClientException("retry capacity could not be obtained", Ec2Mock.Error("RequestLimitExceeded"));

        var mapped = Ec2ErrorMapper.Map("CreateVolume", wrapped);

        Assert.Equal(FailureKind.Unavailable, mapped.Kind);
        Assert.Contains("throttled", mapped.Message, StringComparison.Ordinal);
        Assert.Equal("RequestLimitExceeded", Ec2ErrorMapper.CodeOf(mapped));
    }
}
