using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Core.Errors;

namespace CsiDriver.Cloud.Aws.Tests.Volumes;

[Trait("Category", "Unit")]
public sealed class PageTokenTests
{
    [Fact]
    public void Round_trips()
    {
        var token = new PageToken("ec2/next+token==", 3);

        Assert.Equal(token, PageToken.Decode(token.Encode()));
        Assert.Equal(PageToken.Start, PageToken.Decode(null));
    }

    [Theory]
    [InlineData("garbage!!")]
    [InlineData("djI6MTp4")]
    public void Foreign_token_is_aborted(string token)
    {
        var error = Assert.Throws<StorageException>(() => PageToken.Decode(token));
        Assert.Equal(FailureKind.Aborted, error.Kind);
    }

    [Fact]
    public void Splits_an_ec2_page_smaller_than_ec2_allows()
    {
        int[] page = [1, 2, 3, 4, 5];

        var (first, next) = PageToken.Slice(page, PageToken.Start, "ec2-2", 2);
        Assert.Equal([1, 2], first);
        var (second, next2) = PageToken.Slice(page, PageToken.Decode(next), "ec2-2", 2);
        Assert.Equal([3, 4], second);
        var (third, next3) = PageToken.Slice(page, PageToken.Decode(next2), "ec2-2", 2);
        Assert.Equal([5], third);
        Assert.Equal(new PageToken("ec2-2", 0), PageToken.Decode(next3));
    }
}
