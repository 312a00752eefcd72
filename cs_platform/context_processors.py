from django.conf import settings


def platform(request):
    return {"CURRENCY": settings.CURRENCY, "PLATFORM_NAME": settings.PLATFORM_NAME}
