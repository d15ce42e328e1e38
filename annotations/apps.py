from pathlib import Path

from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_save, pre_save


class AnnotationsConfig(AppConfig):
    name = "annotations"
    verbose_name = "Annotations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A changed password revokes the user's API tokens, whichever path changed it
        # (annotations.services.tokens).
        from annotations.core import language
        from annotations.services import tokens

        cache = settings.LANGUAGE_MODEL_CACHE
        language.use_model_cache(Path(cache) if cache else None)

        user_model = settings.AUTH_USER_MODEL
        pre_save.connect(tokens.password_pre_save, sender=user_model, dispatch_uid="wb-pw-pre")
        post_save.connect(tokens.password_post_save, sender=user_model, dispatch_uid="wb-pw-post")
